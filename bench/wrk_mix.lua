-- wrk script: replay the URL list in $BENCH_URLS (one path?query per line, already in a
-- seeded random order written by bench/mix.py), each thread from its own starting point.
-- Usage: BENCH_URLS=urls.txt wrk -t2 -c16 -d10s -s bench/wrk_mix.lua http://127.0.0.1:PORT -- 2
-- Prints one line "BENCH_JSON {...}" with counts and latency percentiles (microseconds).

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  urls = {}
  for line in io.lines(os.getenv("BENCH_URLS")) do
    if #line > 0 then
      urls[#urls + 1] = line
    end
  end
  local thread_count = tonumber(args[1]) or 1
  counter = math.floor(id * #urls / thread_count)
end

function request()
  counter = counter + 1
  if counter > #urls then
    counter = 1
  end
  return wrk.format("GET", urls[counter])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
