-- Work queues at 1,000,000 cases (issue #4, "Speed"; figures in bench/results/): the indexes of
-- running cases carry the id as their last column, so that the due-soon, overdue and "mine" lists
-- (ORDER BY due_on, id) are read in index order and stop at the page. Without it PostgreSQL
-- fetched and sorted every running case of the scope due on or before the page (675 rows for one
-- site's overdue page, 14 ms, before the first row). SQLite keys every index by rowid already;
-- the same definitions there keep the two schemas alike.

DROP INDEX cases_department_due;
DROP INDEX cases_site_due;
DROP INDEX cases_due;
DROP INDEX cases_assignee;
CREATE INDEX cases_department_due ON cases (department_id, due_on, id) WHERE active = 1;
CREATE INDEX cases_site_due ON cases (site_id, due_on, id) WHERE active = 1;
CREATE INDEX cases_due ON cases (due_on, id) WHERE active = 1;
CREATE INDEX cases_assignee ON cases (assignee_id, due_on, id) WHERE active = 1;
