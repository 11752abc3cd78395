-- latchkey schema, migration 006: the audit event is copied from its head
-- row by latchkeyd's own statement, in the same transaction, not by a
-- trigger: creating a trigger under binary logging (a Galera cluster, a
-- replicated server) takes SUPER. A database that applied the first form
-- of migration 004 loses its trigger here.

DROP TRIGGER IF EXISTS audit_heads_event;
