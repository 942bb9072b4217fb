-- KAD-Q02 Readmission to KAD within 30 days: reference implementation in DuckDB SQL.
-- Written from spec/indicators/KAD-Q02.yaml (prose only). Inputs: stays, params(as_of, period).
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
s AS (
    SELECT st.*,
           CAST(st.admitted_at AT TIME ZONE 'Europe/Oslo' AS DATE) AS adm_date,
           p.period_kind, p.as_of
    FROM stays st CROSS JOIN p
),
idx AS (
    SELECT *,
           CASE period_kind
               WHEN 'year'    THEN strftime(adm_date, '%Y')
               WHEN 'quarter' THEN strftime(adm_date, '%Y') || '-Q' || CAST(quarter(adm_date) AS VARCHAR)
               WHEN 'month'   THEN strftime(adm_date, '%Y-%m')
           END AS period_label,
           -- index stay: completed, not died / hospital, and 720 h of follow-up over at as_of
           (discharged_at IS NOT NULL
            AND coalesce(discharged_to, '') NOT IN ('died', 'hospital')
            AND discharged_at + INTERVAL 720 HOUR <= as_of) AS is_index
    FROM s
),
flagged AS (
    SELECT i.*,
           i.is_index AND EXISTS (
               SELECT 1 FROM stays n
               WHERE n.patient_id = i.patient_id
                 AND n.stay_id <> i.stay_id
                 AND n.admitted_at > i.discharged_at                      -- open at discharge
                 AND n.admitted_at <= i.discharged_at + INTERVAL 720 HOUR -- closed at +720 h
           ) AS readmitted
    FROM idx i
)
SELECT period_label AS period,
       unit_id,
       count(*) FILTER (WHERE readmitted) AS numerator,
       count(*) FILTER (WHERE is_index) AS denominator
FROM flagged
GROUP BY period_label, unit_id
ORDER BY period, unit_id;
