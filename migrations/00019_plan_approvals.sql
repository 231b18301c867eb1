-- +goose Up
-- The recorded approval (法制审核 and any further steps, planning.approval_steps)
-- a draft passes before publication: who decided, when, with what opinion.
-- Rows are only ever added; a rejection ends the draft's road to publication.
CREATE TABLE plan_approvals (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id    bigint NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    step       text NOT NULL CHECK (step <> ''),
    decision   text NOT NULL CHECK (decision IN ('approve', 'reject')),
    opinion    text NOT NULL CHECK (opinion <> ''),
    reviewer   text NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_approvals_plan ON plan_approvals (plan_id, id);

-- +goose Down
DROP TABLE plan_approvals;
