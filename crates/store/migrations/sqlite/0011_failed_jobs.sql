-- The failed jobs (the dead-letter list at /admin/jobs), latest first, without a scan of the
-- done ones. The same in both flavours.
CREATE INDEX jobs_failed ON jobs (failed_at) WHERE failed_at IS NOT NULL;
