-- KAD-U03 Bed occupancy: reference implementation in DuckDB SQL.
-- Written from spec/indicators/KAD-U03.yaml (prose only). Inputs: stays, units,
-- params(as_of, period). Output: period, unit_id, numerator (occupied bed-days),
-- denominator (available bed-days); both as elapsed hours / 24 between absolute instants.
-- as_of NULL = default: midnight (Europe/Oslo) starting the day after the latest local date of
-- any admitted_at / discharged_at.
WITH p AS (
    SELECT period AS period_kind,
           coalesce(as_of,
                    CAST(CAST((SELECT max(greatest(
                                   CAST(admitted_at AT TIME ZONE 'Europe/Oslo' AS DATE),
                                   coalesce(CAST(discharged_at AT TIME ZONE 'Europe/Oslo' AS DATE),
                                            CAST(admitted_at AT TIME ZONE 'Europe/Oslo' AS DATE))))
                               FROM stays) + 1 AS TIMESTAMP) AT TIME ZONE 'Europe/Oslo' AS TIMESTAMPTZ)
           ) AS as_of
    FROM params
),
first_day AS (
    SELECT min(CAST(admitted_at AT TIME ZONE 'Europe/Oslo' AS DATE)) AS d FROM stays
),
-- local period starts (dates), from the period containing the earliest admission up to as_of
months AS (
    SELECT CAST(m AS DATE) AS m
    FROM first_day, p,
         generate_series(CAST(date_trunc('month', first_day.d) AS TIMESTAMP),
                         CAST(CAST(p.as_of AT TIME ZONE 'Europe/Oslo' AS DATE) AS TIMESTAMP),
                         INTERVAL 1 MONTH) AS g(m)
),
periods AS (
    SELECT DISTINCT
           CASE p.period_kind
               WHEN 'year'    THEN CAST(date_trunc('year', m) AS DATE)
               WHEN 'quarter' THEN CAST(date_trunc('quarter', m) AS DATE)
               ELSE m
           END AS start_date,
           p.period_kind, p.as_of
    FROM months, p
),
windows AS (
    SELECT CASE period_kind
               WHEN 'year'    THEN strftime(start_date, '%Y')
               WHEN 'quarter' THEN strftime(start_date, '%Y') || '-Q' || CAST(quarter(start_date) AS VARCHAR)
               ELSE strftime(start_date, '%Y-%m')
           END AS period_label,
           -- local midnights as instants
           CAST(CAST(start_date AS TIMESTAMP) AT TIME ZONE 'Europe/Oslo' AS TIMESTAMPTZ) AS w_start,
           least(CAST(CAST(start_date + CASE period_kind
                                           WHEN 'year' THEN INTERVAL 1 YEAR
                                           WHEN 'quarter' THEN INTERVAL 3 MONTH
                                           ELSE INTERVAL 1 MONTH END AS TIMESTAMP)
                      AT TIME ZONE 'Europe/Oslo' AS TIMESTAMPTZ),
                 as_of) AS w_end
    FROM periods
),
windows_open AS (
    SELECT * FROM windows WHERE w_start < w_end
),
stay_parts AS (
    SELECT w.period_label, s.unit_id,
           (epoch(least(coalesce(s.discharged_at, w.w_end), w.w_end))
            - epoch(greatest(s.admitted_at, w.w_start))) / 86400.0 AS days
    FROM stays s JOIN windows_open w
      ON s.admitted_at < w.w_end AND coalesce(s.discharged_at, w.w_end) > w.w_start
    -- exclusion unknown-unit: the unit is not in the units table
    WHERE s.unit_id IN (SELECT unit_id FROM units)
),
unit_rows AS (
    SELECT unit_id, beds,
           CAST(CAST(valid_from AS TIMESTAMP) AT TIME ZONE 'Europe/Oslo' AS TIMESTAMPTZ) AS v_from,
           CAST(CAST(valid_to AS TIMESTAMP) AT TIME ZONE 'Europe/Oslo' AS TIMESTAMPTZ) AS v_to
    FROM units
),
unit_parts AS (
    SELECT w.period_label, u.unit_id,
           u.beds * (epoch(least(coalesce(u.v_to, w.w_end), w.w_end))
                     - epoch(greatest(u.v_from, w.w_start))) / 86400.0 AS days
    FROM unit_rows u JOIN windows_open w
      ON u.v_from < w.w_end AND (u.v_to IS NULL OR u.v_to > w.w_start)
),
parts AS (
    SELECT period_label, unit_id, days AS occ, 0.0 AS avail FROM stay_parts WHERE days > 0
    UNION ALL
    SELECT period_label, unit_id, 0.0, days FROM unit_parts
)
SELECT period_label AS period,
       unit_id,
       sum(occ) AS numerator,
       sum(avail) AS denominator
FROM parts
GROUP BY period_label, unit_id
ORDER BY period, unit_id;
