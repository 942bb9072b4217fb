-- KAD-Q04 Death within 30 days of admission: reference implementation in DuckDB SQL.
-- Written from spec/indicators/KAD-Q04.yaml (prose only). Inputs: stays, params(as_of, period).
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
-- every known date of death of a patient: died_at (register linkage) of any of the patient's
-- stays, and the local discharge date of any stay with discharged_to = died
deaths AS (
    SELECT patient_id, died_at AS death_date FROM stays WHERE died_at IS NOT NULL
    UNION
    SELECT patient_id, CAST(discharged_at AT TIME ZONE 'Europe/Oslo' AS DATE)
    FROM stays WHERE discharged_to = 'died' AND discharged_at IS NOT NULL
),
s AS (
    SELECT st.*,
           CAST(st.admitted_at AT TIME ZONE 'Europe/Oslo' AS DATE) AS adm_date,
           CAST(p.as_of AT TIME ZONE 'Europe/Oslo' AS DATE) AS as_of_date,
           p.period_kind
    FROM stays st CROSS JOIN p
),
flagged AS (
    SELECT s.*,
           CASE period_kind
               WHEN 'year'    THEN strftime(adm_date, '%Y')
               WHEN 'quarter' THEN strftime(adm_date, '%Y') || '-Q' || CAST(quarter(adm_date) AS VARCHAR)
               WHEN 'month'   THEN strftime(adm_date, '%Y-%m')
           END AS period_label,
           -- follow-up complete: admission date + 30 days <= local date of as_of
           (adm_date + 30 <= as_of_date) AS in_den,
           EXISTS (SELECT 1 FROM deaths d
                   WHERE d.patient_id = s.patient_id
                     AND d.death_date BETWEEN s.adm_date AND s.adm_date + 30) AS died_30
    FROM s
)
SELECT period_label AS period,
       unit_id,
       count(*) FILTER (WHERE in_den AND died_30) AS numerator,
       count(*) FILTER (WHERE in_den) AS denominator
FROM flagged
GROUP BY period_label, unit_id
ORDER BY period, unit_id;
