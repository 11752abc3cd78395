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
