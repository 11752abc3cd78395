<?php
// A reference for bench/run: GET /projects/{id} as a plain PHP-FPM script,
// PDO with a persistent connection and PDO's default (emulated) prepares:
// the SHA-256 of the bearer token finds the token's row in org_tokens, then
// the project is read by id and organization. It answers the same JSON
// object as latchkeyd (401, 404 and 503 with a short body). The database
// comes from the pool's environment (LK_DB_SOCKET, LK_DB_USER,
// LK_DB_PASSWORD, LK_DB_NAME).

header('Content-Type: application/json; charset=utf-8');
header('Cache-Control: no-store');

function fail(int $code, string $error): void
{
	http_response_code($code);
	echo json_encode(['error' => $error]);
	exit;
}

$auth = $_SERVER['HTTP_AUTHORIZATION'] ?? '';
if (strncmp($auth, 'Bearer ', 7) !== 0)
	fail(401, 'unauthorized');
$uri = $_SERVER['DOCUMENT_URI'] ?? '';
$id = substr($uri, strrpos($uri, '/') + 1);
if (strlen($id) !== 26)
	fail(404, 'not_found');

try {
	$db = new PDO('mysql:unix_socket=' . getenv('LK_DB_SOCKET') .
	    ';dbname=' . getenv('LK_DB_NAME') . ';charset=utf8mb4',
	    getenv('LK_DB_USER'), getenv('LK_DB_PASSWORD'), [
		PDO::ATTR_PERSISTENT => true,
		PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
	]);
	$st = $db->prepare('SELECT org_id FROM org_tokens ' .
	    'WHERE hash = ? AND revoked_at IS NULL');
	$st->bindValue(1, hash('sha256', substr($auth, 7), true), PDO::PARAM_LOB);
	$st->execute();
	$org = $st->fetchColumn();
	$st->closeCursor();
	if ($org === false)
		fail(401, 'unauthorized');
	$st = $db->prepare('SELECT id, name, environment, created_at, ' .
	    'updated_at FROM projects WHERE id = ? AND org_id = ? AND ' .
	    'deleted_at IS NULL');
	$st->execute([$id, $org]);
	$p = $st->fetch(PDO::FETCH_ASSOC);
	$st->closeCursor();
} catch (PDOException $e) {
	error_log('project.php: ' . $e->getMessage());
	fail(503, 'db');
}
if ($p === false)
	fail(404, 'not_found');

function api_time(string $t): string
{
	// DATETIME(3) text, "2026-11-28 02:28:36.123", to RFC 3339 UTC.
	return str_replace(' ', 'T', substr($t, 0, 23)) . 'Z';
}

echo json_encode([
	'id' => $p['id'],
	'name' => $p['name'],
	'environment' => $p['environment'],
	'createdAt' => api_time($p['created_at']),
	'updatedAt' => api_time($p['updated_at']),
], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
