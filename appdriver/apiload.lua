-- wrk script of the API's load test (appdriver/apiload.py): POST the JSON body in $WRK_BODY to the URL, stop
-- each thread after $WRK_MAX_REQUESTS / $WRK_THREADS responses (wrk's -d bounds the time), and print the
-- figures as one JSON line at the end.
local file = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
wrk.headers["Content-Type"] = "application/json"
file:close()

local per_thread = tonumber(os.getenv("WRK_MAX_REQUESTS")) / tonumber(os.getenv("WRK_THREADS"))
local responses = 0

function response(status, headers, body)
  responses = responses + 1
  if responses >= per_thread then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.status, errors.connect + errors.read + errors.write,
    errors.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
