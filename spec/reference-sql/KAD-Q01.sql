-- KAD-Q01 Transfer to hospital: reference implementation in DuckDB SQL.
-- Written from spec/indicators/KAD-Q01.yaml (prose only). Inputs: stays, params(as_of, period).
-- Output: period, unit_id, numerator, denominator (no suppression, no statistics).
WITH s AS (
    SELECT st.*,
           CAST(st.admitted_at AT TIME ZONE 'Europe/Oslo' AS DATE) AS adm_date,
           p.period AS period_kind,
           -- completed: discharged at or before as_of, which closes the observation window
           -- (a NULL as_of means the default, after every timestamp in the data)
           (st.discharged_at IS NOT NULL AND (p.as_of IS NULL OR st.discharged_at <= p.as_of)) AS completed
    FROM stays st CROSS JOIN params p
),
labelled AS (
    SELECT *,
           CASE period_kind
               WHEN 'year'    THEN strftime(adm_date, '%Y')
               WHEN 'quarter' THEN strftime(adm_date, '%Y') || '-Q' || CAST(quarter(adm_date) AS VARCHAR)
               WHEN 'month'   THEN strftime(adm_date, '%Y-%m')
           END AS period_label
    FROM s
)
SELECT period_label AS period,
       unit_id,
       -- numerator: stays in the denominator with discharged_to = hospital
       count(*) FILTER (WHERE completed AND discharged_to = 'hospital') AS numerator,
       -- denominator: completed stays (exclusion not-completed: discharged_at empty or after as_of)
       count(*) FILTER (WHERE completed) AS denominator
FROM labelled
GROUP BY period_label, unit_id
ORDER BY period, unit_id;
