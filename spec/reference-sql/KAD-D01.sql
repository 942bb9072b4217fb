-- KAD-D01 Valid main diagnosis: reference implementation in DuckDB SQL.
-- Written from spec/indicators/KAD-D01.yaml (prose only). Inputs: stays, params(as_of, period), and
-- icpc2_codes(code VARCHAR, component VARCHAR): the ICPC-2 code list from spec/codelists/icpc2.yaml,
-- component 'symptom' (component 1), 'diagnosis' (component 7), 'extension' (Norwegian extension
-- codes) or 'process' (components 2-6: a process code with every chapter letter).
-- Output: period, unit_id, numerator, denominator (no suppression, no statistics).
WITH diagnoses AS (
    -- components 1 and 7, and the Norwegian extensions of their rubrics (01-29, 70-99);
    -- the process codes (rubrics 30-69) are not diagnoses
    SELECT code FROM icpc2_codes
    WHERE component IN ('symptom', 'diagnosis')
       OR (component = 'extension' AND CAST(substr(code, 2, 2) AS INTEGER) NOT BETWEEN 30 AND 69)
),
s AS (
    SELECT st.unit_id,
           CAST(st.admitted_at AT TIME ZONE 'Europe/Oslo' AS DATE) AS adm_date,
           p.period AS period_kind,
           -- the value as stored, compared with the code exactly; empty means no diagnosis
           coalesce(st.diagnosis_icpc2 IN (SELECT code FROM diagnoses), false)
           -- ICD-10: the form of the reporting schema's pattern for the field
           OR coalesce(regexp_matches(st.diagnosis_icd10, '^[A-Z][0-9]{2}(\.?[0-9A-Z]{1,4})?$'), false) AS valid
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
       -- numerator: stays with a valid main diagnosis
       count(*) FILTER (WHERE valid) AS numerator,
       -- denominator: every stay admitted in the period, completed or not
       count(*) AS denominator
FROM labelled
GROUP BY period_label, unit_id
ORDER BY period, unit_id;
