-- wrk script for bench/run.sh: the same request headers for every target (Keyway needs them; nginx is
-- told to drop them, as Keyway does), and one machine-readable RESULT line at the end.
local secret = os.getenv("BENCH_SECRET")
local connection = os.getenv("BENCH_CONNECTION_KEY")
if secret and secret ~= "" then
  wrk.headers["x-pica-secret"] = secret
end
if connection and connection ~= "" then
  wrk.headers["x-pica-connection-key"] = connection
end
wrk.headers["accept"] = "application/json"

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f "
      .. "non2xx=%d connect_err=%d read_err=%d write_err=%d timeout_err=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
