/*
 * The SQL of deleting at any size: the jobs of the purger (purge.c) and
 * the claims on them, the small transactions that remove a deleted
 * project's rows (events, incidents, keys, then the project row itself)
 * or old events (event_retention_days), the mark of a whole organization
 * for `latchkeyctl org delete --force`, and what `latchkeyctl purge
 * status` shows. A claim is a row of purge_jobs with an owner and a lease:
 * it holds across every latchkeyd node sharing the database (on Galera it
 * is won by certification), and a dead node's job is anyone's once its
 * lease has passed.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

enum stmt {
	STMT_DUE,
	STMT_CLAIM,
	STMT_RENEW,
	STMT_RELEASE,
	STMT_JOB_DELETE,
	STMT_PROJECT_STATE,
	STMT_PROJECT_LOCK,
	STMT_EVENTS,
	STMT_INCIDENTS,
	STMT_KEYS,
	STMT_PROJECT_DELETE,
	STMT_ORG_LOCK,
	STMT_ORG_PROJECTS,
	STMT_ORG_AUDIT,
	STMT_ORG_ROWS,
	STMT_ORG_DELETE,
	STMT_ORG_DROP,
	STMT_RET_ENSURE,
	STMT_RET_NEXT,
	STMT_RET_EVENTS,
	STMT_RET_POSITION,
	STMT_RET_DONE,
	STMT_MARK_ORG_GET,
	STMT_MARK_ORG,
	STMT_MARK_TOKENS,
	STMT_MARK_KEYS,
	STMT_MARK_JOBS,
	STMT_MARK_PROJECTS,
	STMT_MARK_ORG_JOB,
	STMT_STATUS,
	STMT_LEFT_PROJECT,
	STMT_LEFT_ORG,
	STMT_PENDING,
	STMT__MAX
};

#define LIVE_LEASE "(lease_until IS NULL OR lease_until < UTC_TIMESTAMP(3) " \
	"OR owner = ?)"

static const char *const stmts[STMT__MAX] = {
	/* Projects first, then organizations, then retention; oldest first. */
	[STMT_DUE] = "SELECT target_id, kind, COALESCE(org_id, ''), "
	    "created_at, COALESCE(position, ''), removed FROM purge_jobs WHERE "
	    LIVE_LEASE " AND (kind <> 'retention' OR ?) "
	    "ORDER BY kind, created_at, target_id LIMIT 1",
	[STMT_CLAIM] = "UPDATE purge_jobs SET owner = ?, lease_until = "
	    "UTC_TIMESTAMP(3) + INTERVAL ? SECOND WHERE target_id = ? AND "
	    LIVE_LEASE,
	[STMT_RENEW] = "UPDATE purge_jobs SET lease_until = UTC_TIMESTAMP(3) "
	    "+ INTERVAL ? SECOND, removed = removed + ? "
	    "WHERE target_id = ? AND owner = ?",
	[STMT_RELEASE] = "UPDATE purge_jobs SET owner = NULL, lease_until = "
	    "UTC_TIMESTAMP(3) + INTERVAL ? SECOND WHERE target_id = ? AND "
	    "owner = ?",
	[STMT_JOB_DELETE] = "DELETE FROM purge_jobs WHERE target_id = ? AND "
	    "owner = ?",
	[STMT_PROJECT_STATE] = "SELECT deleted_at IS NOT NULL FROM projects "
	    "WHERE id = ?",
	[STMT_PROJECT_LOCK] = "SELECT deleted_at IS NOT NULL, deleted_at < "
	    "UTC_TIMESTAMP(3) - INTERVAL ? SECOND FROM projects WHERE id = ? "
	    "FOR UPDATE",
	[STMT_EVENTS] = "DELETE FROM events WHERE project_id = ? LIMIT ?",
	[STMT_INCIDENTS] = "DELETE FROM incidents WHERE project_id = ? LIMIT ?",
	[STMT_KEYS] = "DELETE FROM api_keys WHERE project_id = ? LIMIT ?",
	[STMT_PROJECT_DELETE] = "DELETE FROM projects WHERE id = ? AND "
	    "deleted_at IS NOT NULL",
	[STMT_ORG_LOCK] = "SELECT deleted_at IS NOT NULL, deleted_at < "
	    "UTC_TIMESTAMP(3) - INTERVAL ? SECOND FROM organizations "
	    "WHERE id = ? FOR UPDATE",
	[STMT_ORG_PROJECTS] = "SELECT COUNT(*) FROM projects WHERE org_id = ?",
	[STMT_ORG_AUDIT] = "DELETE FROM audit_events WHERE org_id = ? "
	    "ORDER BY seq LIMIT ?",
	/* Its project rows, and whether it has more than 1,000 events. */
	[STMT_ORG_ROWS] = "SELECT (SELECT COUNT(*) FROM projects WHERE "
	    "org_id = ?), (SELECT COUNT(*) > 1000 FROM (SELECT 1 FROM "
	    "audit_events WHERE org_id = ? LIMIT 1001) e)",
	[STMT_ORG_DELETE] = "DELETE FROM organizations WHERE id = ? AND "
	    "deleted_at IS NOT NULL",
	[STMT_ORG_DROP] = "DELETE FROM organizations WHERE id = ?",
	/* A purger that starts (or restarts after a reload) runs a pass. */
	[STMT_RET_ENSURE] = "INSERT INTO purge_jobs (target_id, kind, "
	    "created_at) VALUES ('retention', 'retention', UTC_TIMESTAMP(3)) "
	    "ON DUPLICATE KEY UPDATE lease_until = IF(owner IS NULL, NULL, "
	    "lease_until)",
	[STMT_RET_NEXT] = "SELECT id FROM projects WHERE id > ? ORDER BY id "
	    "LIMIT 1",
	[STMT_RET_EVENTS] = "DELETE FROM events WHERE project_id = ? AND "
	    "received_at < UTC_TIMESTAMP(3) - INTERVAL ? DAY LIMIT ?",
	[STMT_RET_POSITION] = "UPDATE purge_jobs SET position = ? WHERE "
	    "target_id = 'retention' AND owner = ?",
	[STMT_RET_DONE] = "UPDATE purge_jobs SET position = NULL, "
	    "owner = NULL, "
	    "lease_until = UTC_TIMESTAMP(3) + INTERVAL ? SECOND WHERE "
	    "target_id = 'retention' AND owner = ?",
	[STMT_MARK_ORG_GET] = "SELECT (SELECT COUNT(*) FROM projects p WHERE "
	    "p.org_id = o.id AND p.deleted_at IS NULL) FROM organizations o "
	    "WHERE o.id = ? AND o.deleted_at IS NULL FOR UPDATE",
	[STMT_MARK_ORG] = "UPDATE organizations SET deleted_at = ? WHERE "
	    "id = ? AND deleted_at IS NULL",
	[STMT_MARK_TOKENS] = "UPDATE org_tokens SET revoked_at = ? WHERE "
	    "org_id = ? AND revoked_at IS NULL",
	[STMT_MARK_KEYS] = "UPDATE api_keys k JOIN projects p ON "
	    "p.id = k.project_id SET k.revoked_at = COALESCE(k.revoked_at, "
	    "?), k.environment = NULL WHERE p.org_id = ? AND "
	    "p.deleted_at IS NULL",
	[STMT_MARK_JOBS] = "INSERT INTO purge_jobs (target_id, kind, org_id, "
	    "created_at) SELECT id, 'project', org_id, ? FROM projects WHERE "
	    "org_id = ? AND deleted_at IS NULL",
	[STMT_MARK_PROJECTS] = "UPDATE projects SET deleted_at = ? WHERE "
	    "org_id = ? AND deleted_at IS NULL",
	[STMT_MARK_ORG_JOB] = "INSERT INTO purge_jobs (target_id, kind, "
	    "org_id, created_at) VALUES (?, 'org', ?, ?)",
	[STMT_STATUS] = "SELECT target_id, kind, COALESCE(org_id, ''), "
	    "created_at, removed, COALESCE(owner, ''), lease_until "
	    "FROM purge_jobs WHERE kind <> 'retention' "
	    "ORDER BY created_at, target_id",
	[STMT_LEFT_PROJECT] = "SELECT (SELECT COUNT(*) FROM events WHERE "
	    "project_id = ?) + (SELECT COUNT(*) FROM incidents WHERE "
	    "project_id = ?) + (SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ?) + 1",
	[STMT_LEFT_ORG] = "SELECT COUNT(*) + 1 FROM projects WHERE org_id = ?",
	[STMT_PENDING] = "SELECT COUNT(*) FROM purge_jobs WHERE "
	    "kind = 'project'",
};

/*
 * Finds a job that is due (no live lease, or ours: a node resumes its own
 * job after a restart) and claims it for owner for lease seconds; the
 * retention job only when retention is set. RES_OK and *job, RES_NOT_FOUND
 * when nothing is due or another node won the claim, or a database result.
 */
enum result
store_purge_claim(const char *owner, int lease, int retention,
    struct purge_job *job)
{
	struct db_arg	 d[] = { ARG_CSTR(owner),
	    ARG_INT(retention != 0) };
	struct db_col	 c[] = { COL_STR(job->target), COL_STR(job->kind),
	    COL_STR(job->org), COL_TIME(job->created),
	    COL_STR(job->position), COL_INT };
	enum result	 rc;
	int		 row;

	memset(job, 0, sizeof(*job));
	if ((rc = db_exec(stmts[STMT_DUE], d, NARG(d), c, NARG(c))) != RES_OK)
		return rc;
	if ((row = db_fetch()) != 1)
		return row == 0 ? RES_NOT_FOUND : RES_DB_ERROR;
	job->removed = c[5].num;
	while (db_fetch() == 1)
		continue;

	struct db_arg	 a[] = { ARG_CSTR(owner), ARG_INT(lease),
	    ARG_CSTR(job->target), ARG_CSTR(owner) };

	if ((rc = db_exec(stmts[STMT_CLAIM], a, NARG(a), NULL, 0)) != RES_OK)
		return rc == RES_DB_ERROR ? RES_NOT_FOUND : rc;
	return db_affected() == 1 ? RES_OK : RES_NOT_FOUND;
}

/*
 * Makes the retention job due now (creating it the first time): a purger
 * that starts, also after a reload, runs a pass at once. RES_OK or a
 * database result.
 */
enum result
store_purge_retention(void)
{
	return db_exec(stmts[STMT_RET_ENSURE], NULL, 0, NULL, 0);
}

/*
 * Gives job back for another node, or for later: not due before secs.
 * Its failure only delays the job until its lease passes.
 */
void
store_purge_release(const struct purge_job *job, const char *owner, int secs)
{
	struct db_arg	 a[] = { ARG_INT(secs), ARG_CSTR(job->target),
	    ARG_CSTR(owner) };

	(void)db_exec(stmts[STMT_RELEASE], a, NARG(a), NULL, 0);
}

/* Runs s (one string and one int parameter, a DELETE); adds to *n. */
static enum result
del(enum stmt s, const char *id, long long lim, long long *n)
{
	struct db_arg	 a[] = { ARG_CSTR(id), ARG_INT(lim) };
	enum result	 rc;

	if ((rc = db_exec(stmts[s], a, NARG(a), NULL, 0)) == RES_OK)
		*n += (long long)db_affected();
	return rc;
}

/* Reads one row of nv (1 or 2) integer columns into v; *found if any. */
static enum result
ints(enum stmt s, const struct db_arg *a, size_t na, long long *v,
    size_t nv, int *found)
{
	struct db_col	 c[] = { COL_INT, COL_INT };
	enum result	 rc;
	size_t		 i;
	int		 row;

	*found = 0;
	if ((rc = db_exec(stmts[s], a, na, c, nv)) != RES_OK)
		return rc;
	if ((row = db_fetch()) < 0)
		return RES_DB_ERROR;
	if (row == 1) {
		*found = 1;
		for (i = 0; i < nv; i++)
			v[i] = c[i].null ? 0 : c[i].num;
		while (db_fetch() == 1)
			continue;
	}
	return RES_OK;
}

/* Renews owner's lease on job inside the open transaction; counts n. */
static enum result
renew(const struct purge_job *job, const char *owner, int lease, long long n)
{
	struct db_arg	 a[] = { ARG_INT(lease), ARG_INT(n),
	    ARG_CSTR(job->target), ARG_CSTR(owner) };
	enum result	 rc;

	if ((rc = db_exec(stmts[STMT_RENEW], a, NARG(a), NULL, 0)) != RES_OK)
		return rc;
	/* Another node took the job over: our lease had passed. */
	return db_affected() == 1 ? RES_OK : RES_NOT_FOUND;
}

/*
 * One transaction of a project's purge: up to batch events, else
 * incidents, else keys; when none is left, the project row and the job.
 * The row goes only grace seconds after the delete, so that a request
 * that passed its key check before the delete has ended, and under a lock
 * on it, so that no event can come in between the last batch and it.
 */
static enum result
project_step(const struct purge_job *job, const char *owner,
    const struct config *c, int batch, long long *n, int *done)
{
	struct db_arg	 s[] = { ARG_CSTR(job->target) };
	struct db_arg	 l[] = { ARG_INT(c->request_timeout),
	    ARG_CSTR(job->target) };
	struct db_arg	 j[] = { ARG_CSTR(job->target), ARG_CSTR(owner) };
	long long	 v[2];
	enum result	 rc;
	int		 found, final;

	for (final = 0; final < 2; final++) {
		if ((rc = db_begin()) != RES_OK)
			return rc;
		if ((rc = renew(job, owner, PURGE_LEASE, 0)) != RES_OK)
			goto fail;
		/* Never a project that is not marked deleted. */
		if (final)
			rc = ints(STMT_PROJECT_LOCK, l, NARG(l), v, 2, &found);
		else
			rc = ints(STMT_PROJECT_STATE, s, NARG(s), v, 1, &found);
		if (rc != RES_OK)
			goto fail;
		if (!found)
			goto finish;	/* the row is gone: the job left */
		if (!v[0]) {
			log_msg(LOG_ERR, "purge job for project %s, which is "
			    "not deleted: job dropped", job->target);
			goto finish;
		}
		if ((rc = del(STMT_EVENTS, job->target, batch, n)) != RES_OK)
			goto fail;
		if (*n == 0 && (rc = del(STMT_INCIDENTS, job->target, batch,
		    n)) != RES_OK)
			goto fail;
		if (*n == 0 && (rc = del(STMT_KEYS, job->target, batch, n)) !=
		    RES_OK)
			goto fail;
		if (*n > 0 || !final) {
			if ((rc = renew(job, owner, PURGE_LEASE, *n)) !=
			    RES_OK || (rc = db_commit()) != RES_OK)
				goto fail;
			if (*n > 0)
				return RES_OK;
			continue;	/* nothing left: the final step */
		}
		if (!v[1]) {
			db_rollback();
			return RES_IN_USE;	/* within the grace time */
		}
		if ((rc = db_exec(stmts[STMT_PROJECT_DELETE], s, NARG(s),
		    NULL, 0)) != RES_OK)
			goto fail;
		goto finish;
	}
	return RES_OK;
finish:
	if ((rc = db_exec(stmts[STMT_JOB_DELETE], j, NARG(j), NULL, 0)) !=
	    RES_OK || (rc = db_commit()) != RES_OK)
		goto fail;
	*done = 1;
	return RES_OK;
fail:
	db_rollback();
	return rc;
}

/*
 * One transaction of an organization's purge, after its projects': up to
 * batch of its audit events (a long-lived organization has many, and a
 * cascade would take them in one transaction), and when none is left the
 * organization row (its tokens and audit head go with it) and the job.
 * RES_IN_USE while projects are left.
 */
static enum result
org_step(const struct purge_job *job, const char *owner,
    const struct config *c, int batch, long long *n, int *done)
{
	struct db_arg	 l[] = { ARG_INT(c->request_timeout),
	    ARG_CSTR(job->target) };
	struct db_arg	 o[] = { ARG_CSTR(job->target) };
	struct db_arg	 j[] = { ARG_CSTR(job->target), ARG_CSTR(owner) };
	long long	 v[2], left = 0;
	enum result	 rc;
	int		 found;

	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = renew(job, owner, PURGE_LEASE, 0)) != RES_OK ||
	    (rc = ints(STMT_ORG_LOCK, l, NARG(l), v, 2, &found)) != RES_OK)
		goto fail;
	if (found && !v[0]) {
		log_msg(LOG_ERR, "purge job for organization %s, which is "
		    "not deleted: job dropped", job->target);
		found = 0;
	}
	if (found) {
		if ((rc = ints(STMT_ORG_PROJECTS, o, NARG(o), &left, 1,
		    &found)) != RES_OK)
			goto fail;
		if (left > 0 || !v[1]) {
			db_rollback();
			return RES_IN_USE;
		}
		if ((rc = del(STMT_ORG_AUDIT, job->target, batch, n)) !=
		    RES_OK)
			goto fail;
		if (*n > 0) {
			if ((rc = renew(job, owner, PURGE_LEASE, *n)) !=
			    RES_OK || (rc = db_commit()) != RES_OK)
				goto fail;
			return RES_OK;
		}
		if ((rc = db_exec(stmts[STMT_ORG_DELETE], o, NARG(o), NULL,
		    0)) != RES_OK)
			goto fail;
	}
	if ((rc = db_exec(stmts[STMT_JOB_DELETE], j, NARG(j), NULL, 0)) !=
	    RES_OK || (rc = db_commit()) != RES_OK)
		goto fail;
	*done = 1;
	return RES_OK;
fail:
	db_rollback();
	return rc;
}

/*
 * One transaction of a retention pass: up to batch events older than
 * event_retention_days of the project after job->position; the pass
 * moves on when a project has no more, and ends (due again in
 * PURGE_RETENTION_EVERY seconds) after the last project.
 */
static enum result
retention_step(struct purge_job *job, const char *owner,
    const struct config *c, int batch, long long *n, int *done)
{
	char		 prj[ID_LEN + 1] = "";
	struct db_arg	 a[] = { ARG_CSTR(job->position) };
	struct db_col	 col[] = { COL_STR(prj) };
	struct db_arg	 e[] = { ARG_CSTR(prj),
	    ARG_INT(c->event_retention_days), ARG_INT(batch) };
	struct db_arg	 p[] = { ARG_CSTR(prj), ARG_CSTR(owner) };
	struct db_arg	 d[] = { ARG_INT(PURGE_RETENTION_EVERY),
	    ARG_CSTR(owner) };
	enum result	 rc;
	int		 row;

	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = renew(job, owner, PURGE_LEASE, 0)) != RES_OK ||
	    (rc = db_exec(stmts[STMT_RET_NEXT], a, NARG(a), col,
	    NARG(col))) != RES_OK)
		goto fail;
	if ((row = db_fetch()) < 0) {
		rc = RES_DB_ERROR;
		goto fail;
	}
	while (row == 1 && db_fetch() == 1)
		continue;
	if (row == 0) {
		if ((rc = db_exec(stmts[STMT_RET_DONE], d, NARG(d), NULL,
		    0)) != RES_OK || (rc = db_commit()) != RES_OK)
			goto fail;
		*done = 1;
		return RES_OK;
	}
	e[0].len = strlen(prj);
	p[0].len = strlen(prj);
	if ((rc = db_exec(stmts[STMT_RET_EVENTS], e, NARG(e), NULL, 0)) !=
	    RES_OK)
		goto fail;
	*n = (long long)db_affected();
	if (*n < batch && (rc = db_exec(stmts[STMT_RET_POSITION], p,
	    NARG(p), NULL, 0)) != RES_OK)
		goto fail;
	if ((rc = renew(job, owner, PURGE_LEASE, *n)) != RES_OK ||
	    (rc = db_commit()) != RES_OK)
		goto fail;
	if (*n < batch)
		strlcpy(job->position, prj, sizeof(job->position));
	return RES_OK;
fail:
	db_rollback();
	return rc;
}

/*
 * Runs one short transaction of job, claimed by owner, of at most batch
 * rows: *removed rows went, *done is set when the job is finished.
 * RES_OK; RES_IN_USE when the job must wait (its grace time, or an
 * organization's projects); RES_NOT_FOUND when another node took it over;
 * or a database result (nothing of the transaction stays).
 */
enum result
store_purge_step(struct purge_job *job, const char *owner,
    const struct config *c, int batch, long long *removed, int *done)
{
	*removed = 0;
	*done = 0;
	if (strcmp(job->kind, "project") == 0)
		return project_step(job, owner, c, batch, removed, done);
	if (strcmp(job->kind, "org") == 0)
		return org_step(job, owner, c, batch, removed, done);
	return retention_step(job, owner, c, batch, removed, done);
}

/*
 * Deletes organization org the way DELETE /projects/{id} deletes a
 * project, in one short transaction: the organization and its projects
 * marked deleted, its tokens and keys revoked, a purge job for each
 * project and one for the organization (or, when it has no project rows
 * at all and at most 1,000 audit events, the organization row with its
 * tokens and events at once). RES_OK, RES_NOT_FOUND,
 * RES_IN_USE when it has live projects and !force, or a database result.
 */
enum result
store_purge_org(const char *org, int force)
{
	char		 now[TIME_LEN + 1], api[TIME_LEN + 1];
	struct db_arg	 o[] = { ARG_CSTR(org) };
	struct db_arg	 oo[] = { ARG_CSTR(org), ARG_CSTR(org) };
	long long	 live = 0, all[2];
	enum result	 rc;
	int		 found;

	db_now(now, api);

	struct db_arg	 m[] = { ARG_CSTR(now), ARG_CSTR(org) };
	struct db_arg	 j[] = { ARG_CSTR(org), ARG_CSTR(org),
	    ARG_CSTR(now) };

	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = ints(STMT_MARK_ORG_GET, o, NARG(o), &live, 1, &found)) !=
	    RES_OK)
		goto fail;
	if (!found || (live > 0 && !force)) {
		db_rollback();
		return found ? RES_IN_USE : RES_NOT_FOUND;
	}
	/*
	 * No project rows at all and few audit events: nothing to purge in
	 * batches, the row goes now with what cascades from it.
	 */
	if ((rc = ints(STMT_ORG_ROWS, oo, NARG(oo), all, 2, &found)) !=
	    RES_OK)
		goto fail;
	if (all[0] == 0 && all[1] == 0) {
		if ((rc = db_exec(stmts[STMT_ORG_DROP], o, NARG(o), NULL,
		    0)) != RES_OK || (rc = db_commit()) != RES_OK)
			goto fail;
		return RES_OK;
	}
	if ((rc = db_exec(stmts[STMT_MARK_ORG], m, NARG(m), NULL, 0)) !=
	    RES_OK ||
	    (rc = db_exec(stmts[STMT_MARK_TOKENS], m, NARG(m), NULL, 0)) !=
	    RES_OK ||
	    (rc = db_exec(stmts[STMT_MARK_KEYS], m, NARG(m), NULL, 0)) !=
	    RES_OK ||
	    (rc = db_exec(stmts[STMT_MARK_JOBS], m, NARG(m), NULL, 0)) !=
	    RES_OK ||
	    (rc = db_exec(stmts[STMT_MARK_PROJECTS], m, NARG(m), NULL, 0)) !=
	    RES_OK ||
	    (rc = db_exec(stmts[STMT_MARK_ORG_JOB], j, NARG(j), NULL, 0)) !=
	    RES_OK || (rc = db_commit()) != RES_OK)
		goto fail;
	return RES_OK;
fail:
	db_rollback();
	return rc;
}

/*
 * Sets *n to the number of deleted projects whose rows are still being
 * purged (latchkey_purge_pending_projects). RES_OK or a database result.
 */
enum result
store_purge_pending(long long *n)
{
	int	 found;

	return ints(STMT_PENDING, NULL, 0, n, 1, &found);
}

/*
 * Calls cb for each project and organization still being purged, oldest
 * first, with the rows it has left (counted: seconds for a project of
 * many millions of events). RES_OK or a database result.
 */
enum result
store_purge_status(void (*cb)(void *, const struct purge_job *), void *arg)
{
	struct purge_job	 j, *all = NULL;
	struct db_col		 c[] = { COL_STR(j.target),
	    COL_STR(j.kind), COL_STR(j.org), COL_TIME(j.created), COL_INT,
	    COL_STR(j.owner), COL_TIME(j.lease) };
	size_t			 n = 0, i;
	enum result		 rc;
	int			 row, found;

	memset(&j, 0, sizeof(j));
	if ((rc = db_exec(stmts[STMT_STATUS], NULL, 0, c, NARG(c))) != RES_OK)
		return rc;
	while ((row = db_fetch()) == 1) {
		if ((all = reallocarray(all, n + 1, sizeof(*all))) == NULL) {
			log_msg(LOG_ERR, "out of memory");
			exit(1);
		}
		j.removed = c[4].num;
		all[n++] = j;
	}
	if (row < 0) {
		free(all);
		return RES_DB_ERROR;
	}
	for (i = 0; i < n; i++) {
		struct db_arg	 p[] = { ARG_CSTR(all[i].target),
		    ARG_CSTR(all[i].target), ARG_CSTR(all[i].target) };

		if (strcmp(all[i].kind, "project") == 0)
			rc = ints(STMT_LEFT_PROJECT, p, NARG(p),
			    &all[i].left, 1, &found);
		else
			rc = ints(STMT_LEFT_ORG, p, 1, &all[i].left, 1,
			    &found);
		if (rc != RES_OK)
			break;
		cb(arg, &all[i]);
	}
	free(all);
	return rc;
}
