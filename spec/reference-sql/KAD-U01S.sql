-- KAD-U01S KAD stays per 1,000 adult inhabitants, directly age- and sex-standardised:
-- reference implementation in DuckDB SQL. Written from spec/indicators/KAD-U01S.yaml (prose
-- only) and spec/standard-populations/esp2013.yaml. Inputs: stays, population,
-- params(as_of, period) and, as for KAD-U01, the code list as a table
-- municipality_codes(code VARCHAR, valid_from DATE, valid_to DATE).
-- Output: period, municipality, numerator (observed stays), denominator (adults of sex 1 and 2
-- on 1 January of the period's year) and value (the DSR per 1,000 with the ESP 2013 weights).
-- The gamma confidence limits need a gamma quantile function, which DuckDB does not have.
WITH std(sex, age_band, weight) AS (
    VALUES ('1', '18-49', 41700.0), ('1', '50-66', 21700.0), ('1', '67-79', 12300.0),
           ('1', '80-89', 4000.0), ('1', '90+', 1000.0),
           ('2', '18-49', 41700.0), ('2', '50-66', 21700.0), ('2', '67-79', 12300.0),
           ('2', '80-89', 4000.0), ('2', '90+', 1000.0)
),
s AS (
    SELECT st.*,
           CAST(st.admitted_at AT TIME ZONE 'Europe/Oslo' AS DATE) AS adm_date,
           p.period AS period_kind
    FROM stays st CROSS JOIN params p
),
labelled AS (
    SELECT s.*,
           year(adm_date) AS pop_year,
           CASE period_kind
               WHEN 'year'    THEN strftime(adm_date, '%Y')
               WHEN 'quarter' THEN strftime(adm_date, '%Y') || '-Q' || CAST(quarter(adm_date) AS VARCHAR)
               ELSE strftime(adm_date, '%Y-%m')
           END AS period_label,
           CASE WHEN age >= 90 THEN '90+' WHEN age >= 80 THEN '80-89' WHEN age >= 67 THEN '67-79'
                WHEN age >= 50 THEN '50-66' WHEN age >= 18 THEN '18-49' ELSE '0-17' END AS band,
           EXISTS (SELECT 1 FROM municipality_codes c
                   WHERE c.code = s.municipality
                     AND c.valid_from <= s.adm_date
                     AND (c.valid_to IS NULL OR s.adm_date < c.valid_to)) AS mun_valid
    FROM s
),
-- inhabitants per standardisation stratum (sex 1/2 × adult band) with at least one inhabitant
strata_pop AS (
    SELECT municipality, year, sex, age_band, sum(population) AS n
    FROM population
    WHERE sex IN ('1', '2') AND age_band IN ('18-49', '50-66', '67-79', '80-89', '90+')
    GROUP BY municipality, year, sex, age_band
    HAVING sum(population) > 0
),
adults AS (
    SELECT municipality, year, sum(n) AS adults FROM strata_pop GROUP BY municipality, year
),
-- as_of: given, or the latest timestamp in the data rounded up to the next local midnight
as_of_day AS (
    SELECT coalesce(CAST(p.as_of AT TIME ZONE 'Europe/Oslo' AS DATE),
                    (SELECT CAST(max(greatest(admitted_at, coalesce(discharged_at, admitted_at)))
                                 AT TIME ZONE 'Europe/Oslo' AS DATE) + 1 FROM stays)) AS d,
           p.period AS period_kind
    FROM params p
),
-- periods: those with an admission, and every period of a population year starting before as_of
pop_periods AS (
    SELECT CASE a.period_kind
               WHEN 'year'    THEN strftime(m.start, '%Y')
               WHEN 'quarter' THEN strftime(m.start, '%Y') || '-Q' || CAST(quarter(m.start) AS VARCHAR)
               ELSE strftime(m.start, '%Y-%m')
           END AS period_label,
           year(m.start) AS pop_year
    FROM (SELECT DISTINCT year FROM adults) y
    CROSS JOIN as_of_day a
    CROSS JOIN LATERAL (SELECT CAST(make_date(y.year, 1, 1) + to_months(CAST(k AS INTEGER)) AS DATE) AS start
                        FROM range(0, 12) r(k)) m
    WHERE m.start < a.d
),
periods AS (
    SELECT DISTINCT period_label, pop_year FROM labelled
    UNION
    SELECT DISTINCT period_label, pop_year FROM pop_periods
),
row_keys AS (
    SELECT p.period_label, p.pop_year, a.municipality
    FROM periods p JOIN adults a ON a.year = p.pop_year
    UNION
    SELECT period_label, pop_year, municipality FROM labelled WHERE age >= 18 AND mun_valid
),
-- observed stays per stratum: adult, valid municipality, sex 1/2, stratum with inhabitants
obs AS (
    SELECT l.period_label, l.municipality, l.sex, l.band, count(*) AS o
    FROM labelled l JOIN strata_pop sp
      ON sp.municipality = l.municipality AND sp.year = l.pop_year AND sp.sex = l.sex AND sp.age_band = l.band
    WHERE l.age >= 18 AND l.mun_valid
    GROUP BY l.period_label, l.municipality, l.sex, l.band
),
-- Σ w · O / n over the strata with inhabitants; an empty stratum adds 0 but keeps its weight
weighted AS (
    SELECT k.period_label, k.municipality,
           sum(std.weight * coalesce(o.o, 0) / sp.n) AS wsum,
           sum(coalesce(o.o, 0)) AS observed
    FROM row_keys k
    CROSS JOIN std
    JOIN strata_pop sp ON sp.municipality = k.municipality AND sp.year = k.pop_year
                      AND sp.sex = std.sex AND sp.age_band = std.age_band
    LEFT JOIN obs o ON o.period_label = k.period_label AND o.municipality = k.municipality
                   AND o.sex = std.sex AND o.band = std.age_band
    GROUP BY k.period_label, k.municipality
)
SELECT k.period_label AS period,
       k.municipality,
       coalesce(w.observed, 0) AS numerator,
       coalesce(a.adults, 0) AS denominator,
       CASE WHEN coalesce(a.adults, 0) > 0
            THEN w.wsum / (SELECT sum(weight) FROM std) * 1000 END AS value
FROM row_keys k
LEFT JOIN weighted w ON w.period_label = k.period_label AND w.municipality = k.municipality
LEFT JOIN adults a ON a.municipality = k.municipality AND a.year = k.pop_year
ORDER BY period, municipality;
