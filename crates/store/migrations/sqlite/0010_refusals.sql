-- Refused attempts (403 on a privileged route, CSRF rejections, 429s, failed
-- reauthentication), aggregated so that a flood cannot flood the audit log (issue #12, §6): the
-- first refusal of a (who, kind, action) in a minute is audited at once, the rest only counted
-- here; when the minute has passed one summary record carries the count and the window row goes.
CREATE TABLE refusal_windows (
    who          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    action       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    actor_id     BIGINT,
    actor        TEXT NOT NULL,
    ip           TEXT NOT NULL,
    object       TEXT NOT NULL,
    refusals     BIGINT NOT NULL,
    PRIMARY KEY (who, kind, action, window_start)
);
CREATE INDEX refusal_windows_start ON refusal_windows (window_start);
