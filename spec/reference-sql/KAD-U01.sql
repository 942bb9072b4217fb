-- KAD-U01 KAD admissions per 1,000 adult inhabitants: reference implementation in DuckDB SQL.
-- Written from spec/indicators/KAD-U01.yaml (prose only). Inputs: stays, population,
-- params(as_of, period) and, beyond the common contract, the code list as a table
-- municipality_codes(code VARCHAR, valid_from DATE, valid_to DATE) (half-open, valid_to NULL =
-- still valid), loaded from spec/codelists/municipality.yaml.
-- Output: period, municipality, numerator (admissions), denominator (adults on 1 January of the
-- period's year; the rate is numerator / denominator × 1,000, not annualised).
WITH s AS (
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
           EXISTS (SELECT 1 FROM municipality_codes c
                   WHERE c.code = s.municipality
                     AND c.valid_from <= s.adm_date
                     AND (c.valid_to IS NULL OR s.adm_date < c.valid_to)) AS mun_valid
    FROM s
),
adults AS (
    SELECT municipality, year, sum(population) AS adults
    FROM population
    WHERE age_band IN ('18-49', '50-66', '67-79', '80-89', '90+')
    GROUP BY municipality, year
),
-- periods: those with at least one admission in the data
periods AS (
    SELECT DISTINCT period_label, pop_year FROM labelled
),
-- rows: municipalities with adult inhabitants that year, and valid municipalities of
-- residence of any stay admitted in the period
row_keys AS (
    SELECT p.period_label, p.pop_year, a.municipality
    FROM periods p JOIN adults a ON a.year = p.pop_year AND a.adults > 0
    UNION
    SELECT period_label, pop_year, municipality FROM labelled WHERE mun_valid
),
num AS (
    SELECT l.period_label, l.municipality, count(*) AS n
    FROM labelled l JOIN adults a
      ON a.municipality = l.municipality AND a.year = l.pop_year AND a.adults > 0
    WHERE l.age >= 18 AND l.mun_valid
    GROUP BY l.period_label, l.municipality
)
SELECT k.period_label AS period,
       k.municipality,
       coalesce(num.n, 0) AS numerator,
       coalesce(a.adults, 0) AS denominator
FROM row_keys k
LEFT JOIN num ON num.period_label = k.period_label AND num.municipality = k.municipality
LEFT JOIN adults a ON a.municipality = k.municipality AND a.year = k.pop_year AND a.adults > 0
ORDER BY period, municipality;
