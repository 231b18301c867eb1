-- +goose Up
-- A risk-code change made by the rule (a visit's results) records why as a
-- stable code and its parameters, rendered in the reader's language by the
-- message catalog; reason keeps the words as written at the time (the
-- configured language), and is all there is for a change made by hand or by
-- an import.
ALTER TABLE risk_code_history ADD COLUMN reason_code text, ADD COLUMN reason_params jsonb;

-- Changes the rule made before codes existed wrote English sentences:
-- "violation at plan 3 visit 12 (2026-03-05): item (rule)",
-- "minor finding at …", "2 clean visits in a row, the latest plan 3 visit 12
-- (2026-03-05): red → yellow". Those that read back get their code; the item
-- keeps any rule cited after it, as it cannot be told apart for certain.
UPDATE risk_code_history h SET reason_code = CASE m[1] WHEN 'violation' THEN 'violation' ELSE 'minor' END,
    reason_params = jsonb_build_object('plan_id', m[2]::bigint, 'visit_seq', m[3]::int, 'date', m[4], 'item', m[5])
FROM (SELECT id, regexp_match(reason, '^(violation|minor finding) at plan (\d+) visit (\d+) \((\d{4}-\d{2}-\d{2})\): (.*)$') AS m
      FROM risk_code_history WHERE result_id IS NOT NULL) x
WHERE h.id = x.id AND x.m IS NOT NULL;
UPDATE risk_code_history h SET reason_code = 'step_down',
    reason_params = jsonb_build_object('plan_id', m[2]::bigint, 'visit_seq', m[3]::int, 'date', m[4], 'clean', m[1]::int,
        'from', m[5], 'to', m[6])
FROM (SELECT id, regexp_match(reason,
        '^(\d+) clean visits in a row, the latest plan (\d+) visit (\d+) \((\d{4}-\d{2}-\d{2})\): (red|yellow|green) → (red|yellow|green)$') AS m
      FROM risk_code_history WHERE result_id IS NOT NULL) x
WHERE h.id = x.id AND x.m IS NOT NULL;

-- +goose Down
ALTER TABLE risk_code_history DROP COLUMN reason_code, DROP COLUMN reason_params;
