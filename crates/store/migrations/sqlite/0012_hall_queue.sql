-- The physical hall's queue (issue #15): queue services per site and the windows that serve
-- them, who is at a window, each site's calling rule, tickets and their period log.
-- SQLite flavour; the PostgreSQL file of the same name defines the same tables and columns.

-- What a ticket queues for (无差别综合窗口 or a department's 专项窗口), per site.
CREATE TABLE queue_services (
    id                  INTEGER PRIMARY KEY,
    site_id             INTEGER NOT NULL REFERENCES sites (id),
    code                TEXT NOT NULL,
    name                TEXT NOT NULL,
    prefix              TEXT NOT NULL,
    department_id       INTEGER REFERENCES departments (id),
    target_wait_minutes BIGINT NOT NULL DEFAULT 20 CHECK (target_wait_minutes > 0),
    sort                BIGINT NOT NULL DEFAULT 0,
    UNIQUE (site_id, code),
    UNIQUE (site_id, prefix)
);

-- The catalogue items a queue service takes in.
CREATE TABLE queue_service_items (
    service_id INTEGER NOT NULL REFERENCES queue_services (id),
    item_id    INTEGER NOT NULL REFERENCES items (id),
    PRIMARY KEY (service_id, item_id)
);

-- The services each window calls for (its skills).
CREATE TABLE window_services (
    window_id  INTEGER NOT NULL REFERENCES windows (id),
    service_id INTEGER NOT NULL REFERENCES queue_services (id),
    PRIMARY KEY (window_id, service_id)
);

-- Who is signed in at a window now; paused for a break with a reason.
CREATE TABLE window_sessions (
    window_id    INTEGER PRIMARY KEY REFERENCES windows (id),
    user_id      INTEGER NOT NULL UNIQUE REFERENCES users (id),
    signed_in_at BIGINT NOT NULL,
    paused_at    BIGINT,
    pause_reason TEXT NOT NULL DEFAULT ''
);

-- Each site's calling rule and its round-robin credits. Every change to the site's tickets
-- updates this row first (`changes`, which the hall screens watch), so calls at one site take
-- turns (on PostgreSQL the row lock, across server processes too) and every transaction locks
-- the site before its tickets.
CREATE TABLE queue_policies (
    site_id                INTEGER PRIMARY KEY REFERENCES sites (id),
    weight_green_channel   BIGINT NOT NULL DEFAULT 2 CHECK (weight_green_channel BETWEEN 1 AND 100),
    weight_appointment     BIGINT NOT NULL DEFAULT 2 CHECK (weight_appointment BETWEEN 1 AND 100),
    weight_ordinary        BIGINT NOT NULL DEFAULT 1 CHECK (weight_ordinary BETWEEN 1 AND 100),
    ageing_cap_minutes     BIGINT NOT NULL DEFAULT 30 CHECK (ageing_cap_minutes >= 0),
    recalls_before_no_show BIGINT NOT NULL DEFAULT 2 CHECK (recalls_before_no_show >= 0),
    park_limit_minutes     BIGINT NOT NULL DEFAULT 30 CHECK (park_limit_minutes > 0),
    closing_minute         BIGINT NOT NULL DEFAULT 1050 CHECK (closing_minute BETWEEN 0 AND 1439),
    credit_green_channel   BIGINT NOT NULL DEFAULT 0,
    credit_appointment     BIGINT NOT NULL DEFAULT 0,
    credit_ordinary        BIGINT NOT NULL DEFAULT 0,
    changes                BIGINT NOT NULL DEFAULT 0
);

-- The last number given per site, day and service: numbering restarts each day.
CREATE TABLE ticket_numbers (
    site_id    INTEGER NOT NULL REFERENCES sites (id),
    day        TEXT NOT NULL,
    service_id INTEGER NOT NULL REFERENCES queue_services (id),
    last       BIGINT NOT NULL,
    PRIMARY KEY (site_id, day, service_id)
);

CREATE TABLE tickets (
    id          INTEGER PRIMARY KEY,
    site_id     INTEGER NOT NULL REFERENCES sites (id),
    day         TEXT NOT NULL,
    service_id  INTEGER NOT NULL REFERENCES queue_services (id),
    number      BIGINT NOT NULL,
    label       TEXT NOT NULL,
    class       TEXT NOT NULL CHECK (class IN ('green_channel', 'appointment', 'ordinary')),
    state       TEXT NOT NULL CHECK (state IN ('waiting', 'called', 'serving', 'parked', 'done', 'no_show', 'cancelled', 'expired')),
    channel     TEXT NOT NULL CHECK (channel IN ('kiosk', 'reception', 'phone', 'appointment')),
    user_id     INTEGER REFERENCES users (id),
    taken_at    BIGINT NOT NULL,
    queued_at   BIGINT NOT NULL,
    window_id   INTEGER REFERENCES windows (id),
    staff_id    INTEGER REFERENCES users (id),
    called_at   BIGINT,
    served_at   BIGINT,
    finished_at BIGINT,
    recalls     BIGINT NOT NULL DEFAULT 0,
    rejoined    BIGINT NOT NULL DEFAULT 0,
    case_id     INTEGER REFERENCES cases (id),
    UNIQUE (site_id, day, service_id, number)
);
-- Call-next reads the site's waiting tickets of the day.
CREATE INDEX tickets_open ON tickets (site_id, day, state);
CREATE INDEX tickets_user ON tickets (user_id, taken_at) WHERE user_id IS NOT NULL;

-- The period log: every change of a ticket's state, who made it and where.
CREATE TABLE ticket_events (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    at        BIGINT NOT NULL,
    action    TEXT NOT NULL,
    state     TEXT NOT NULL,
    window_id INTEGER REFERENCES windows (id),
    actor_id  INTEGER REFERENCES users (id),
    note      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);
