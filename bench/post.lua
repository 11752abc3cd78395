-- wrk script: a request with method, body and headers from the
-- environment (WRK_METHOD, WRK_BODY, WRK_AUTH, WRK_CT).
wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.body = os.getenv("WRK_BODY")
local auth = os.getenv("WRK_AUTH")
if auth and auth ~= "" then
	local name, value = auth:match("^([^:]+):%s*(.*)$")
	wrk.headers[name] = value
end
local ct = os.getenv("WRK_CT")
if ct and ct ~= "" then wrk.headers["Content-Type"] = ct end
-- WRK_PACE_MS: each connection waits a random 0 to 2 x this many ms
-- before each request, so that all of them together ask for a rate below
-- saturation (bench/run's second table).
local pace = tonumber(os.getenv("WRK_PACE_MS") or "")
if pace then
	math.randomseed(os.time() + math.floor(os.clock() * 1000000))
	function delay() return math.random() * 2 * pace end
end
