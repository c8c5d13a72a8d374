// SPDX-License-Identifier: MIT
//
// trace_replay: replays a block trace through the real biostack buffer cache
// (over a null_device, without data copies) for a list of replacement
// policies and cache sizes, and prints one JSON object per run:
//
//   {"policy": "lru", "cache_blocks": 1000, "requests": R, "misses": M,
//    "miss_ratio": x, "seconds": s}
//
// Usage: trace_replay [options] TRACE
//   --column NAME      TRACE is CSV with a header row; NAME is the block column
//   --policies LIST    comma-separated: lru,clock,clock_sweep,two_q,arc,s3_fifo,sieve,fifo
//                      (default: all of them)
//   --sizes LIST       comma-separated cache sizes in blocks (default: 100,1000,10000)
//   --belady           also print the optimal (Belady MIN) miss ratio per size
//   --plot FILE.svg    draw the miss-ratio curves with gnuplot
// A plain TRACE has one block number per line (blank lines and lines starting
// with '#' are skipped). Bad input: a message naming the file and line, exit 2.

#include <biostack/cache/buffer_cache.hpp>
#include <biostack/cache/replacement/arc.hpp>
#include <biostack/cache/replacement/clock.hpp>
#include <biostack/cache/replacement/clock_sweep.hpp>
#include <biostack/cache/replacement/lru.hpp>
#include <biostack/cache/replacement/s3_fifo.hpp>
#include <biostack/cache/replacement/sieve.hpp>
#include <biostack/cache/replacement/two_q.hpp>
#include <biostack/devices/null.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {
using namespace biostack;

constexpr std::size_t max_blocks = std::size_t{1} << 20;

struct run_result {
  std::string policy;
  std::size_t cache_blocks;
  std::uint64_t requests;
  std::uint64_t misses;
  double seconds;
};

[[noreturn]] void fail(const std::string& msg, int code = 2) {
  std::fprintf(stderr, "trace_replay: %s\n", msg.c_str());
  std::exit(code);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(ch);
    }
  }
  out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n\"");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n\"");
  return s.substr(b, e - b + 1);
}

bool parse_u64(const std::string& text, std::uint64_t& v) {
  if (text.empty() || text.size() > 20) return false;
  std::uint64_t r = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
    const auto d = static_cast<std::uint64_t>(ch - '0');
    if (r > (UINT64_MAX - d) / 10) return false;
    r = r * 10 + d;
  }
  v = r;
  return true;
}

std::vector<std::uint64_t> load_trace(const std::string& path, const std::string& column) {
  std::ifstream in(path);
  if (!in) fail("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<std::uint64_t> trace;
  std::string line;
  std::size_t lineno = 0;
  std::size_t col = 0;
  std::size_t fields = 0;
  if (!column.empty()) {
    if (!std::getline(in, line)) fail(path + ":1: empty file, expected a CSV header");
    ++lineno;
    const auto header = split(line, ',');
    fields = header.size();
    bool found = false;
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (trim(header[i]) == column) {
        col = i;
        found = true;
        break;
      }
    }
    if (!found) fail(path + ":1: no column '" + column + "' in the CSV header");
  }
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = trim(line);
    if (t.empty() || (column.empty() && t[0] == '#')) continue;
    std::string field = t;
    if (!column.empty()) {
      const auto parts = split(line, ',');
      if (parts.size() != fields)
        fail(path + ":" + std::to_string(lineno) + ": expected " + std::to_string(fields) +
             " fields, found " + std::to_string(parts.size()));
      field = trim(parts[col]);
    }
    std::uint64_t v = 0;
    if (!parse_u64(field, v))
      fail(path + ":" + std::to_string(lineno) + ": invalid block number '" + field + "'");
    trace.push_back(v);
  }
  if (in.bad()) fail("read error on '" + path + "'");
  return trace;
}

// One replay through a cache of `Cap` slots limited to `blocks`.
template <class Policy, std::size_t Cap>
run_result replay_with(const std::vector<std::uint64_t>& trace, std::size_t blocks) {
  using cache_t = buffer_cache<null_device, policies<no_data_storage<Cap, 512>, Policy>>;
  static null_device dev(512, UINT64_MAX / 512, false);
  std::unique_ptr<cache_t> c(new cache_t(dev, blocks));
  const auto t0 = std::chrono::steady_clock::now();
  for (const std::uint64_t lbn : trace) {
    auto h = c->get(lbn);
    if (!h) fail("block " + std::to_string(lbn) + ": " + to_string(h.error()));
    if (!h->valid()) h->mark_valid();
  }
  const auto t1 = std::chrono::steady_clock::now();
  return run_result{Policy::name, blocks, trace.size(), c->stats().misses,
                    std::chrono::duration<double>(t1 - t0).count()};
}

template <class Policy>
run_result replay(const std::vector<std::uint64_t>& trace, std::size_t blocks) {
  if (blocks < 65535) return replay_with<Policy, 65534>(trace, blocks);
  return replay_with<Policy, max_blocks>(trace, blocks);
}

// Belady's MIN: evict the block whose next use is farthest away.
run_result belady(const std::vector<std::uint64_t>& trace, std::size_t blocks) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t n = trace.size();
  std::vector<std::size_t> next(n);
  std::unordered_map<std::uint64_t, std::size_t> last;
  for (std::size_t i = n; i-- > 0;) {
    auto it = last.find(trace[i]);
    next[i] = it == last.end() ? SIZE_MAX : it->second;
    last[trace[i]] = i;
  }
  std::set<std::pair<std::size_t, std::uint64_t>> by_next; // (next use, block)
  std::unordered_map<std::uint64_t, std::size_t> resident; // block → its key in by_next
  std::uint64_t misses = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t b = trace[i];
    auto it = resident.find(b);
    if (it != resident.end()) {
      by_next.erase({it->second, b});
    } else {
      ++misses;
      if (resident.size() == blocks) {
        auto victim = std::prev(by_next.end());
        resident.erase(victim->second);
        by_next.erase(victim);
      }
    }
    resident[b] = next[i];
    by_next.insert({next[i], b});
  }
  const auto t1 = std::chrono::steady_clock::now();
  return run_result{"belady", blocks, n, misses, std::chrono::duration<double>(t1 - t0).count()};
}

// Every policy by name, in the default order: one table for the lookup, the
// default list and the message naming the known ones.
using replay_fn = run_result (*)(const std::vector<std::uint64_t>&, std::size_t);
struct named_policy {
  const char* name;
  replay_fn run;
};
constexpr named_policy named_policies[] = {
    {"lru", &replay<lru>},
    {"clock", &replay<biostack::clock_eviction>},
    {"clock_sweep", &replay<clock_sweep>},
    {"two_q", &replay<two_q>},
    {"arc", &replay<arc>},
    {"s3_fifo", &replay<s3_fifo>},
    {"sieve", &replay<sieve>},
    {"fifo", &replay<fifo_eviction>},
};

replay_fn find_policy(const std::string& name) {
  for (const named_policy& p : named_policies)
    if (name == p.name) return p.run;
  std::string known;
  for (const named_policy& p : named_policies)
    known += (known.empty() ? "" : ",") + std::string(p.name);
  fail("unknown policy '" + name + "' (known: " + known + ")");
}

void print(const run_result& r) {
  const double ratio =
      r.requests == 0 ? 0.0 : static_cast<double>(r.misses) / static_cast<double>(r.requests);
  std::printf("{\"policy\": \"%s\", \"cache_blocks\": %zu, \"requests\": %llu, \"misses\": %llu, "
              "\"miss_ratio\": %.6f, \"seconds\": %.6f}\n",
              r.policy.c_str(), r.cache_blocks, static_cast<unsigned long long>(r.requests),
              static_cast<unsigned long long>(r.misses), ratio, r.seconds);
}

void plot(const std::string& out, const std::vector<run_result>& results,
          const std::vector<std::string>& names) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
    fail("--plot needs gnuplot on the PATH (Debian: apt-get install gnuplot-nox)", 3);
  const std::string script = out + ".gp";
  std::ofstream gp(script);
  if (!gp) fail("cannot write '" + script + "'");
  gp << "set terminal svg size 800,500 noenhanced\nset output '" << out << "'\n"
     << "set logscale x\nset xlabel 'cache size (blocks)'\nset ylabel 'miss ratio'\n"
     << "set key outside right\nset grid\nplot ";
  for (std::size_t i = 0; i < names.size(); ++i)
    gp << (i ? ", " : "") << "'-' using 1:2 with linespoints title '" << names[i] << "'";
  gp << "\n";
  for (const auto& name : names) {
    for (const auto& r : results) {
      if (r.policy != name) continue;
      gp << r.cache_blocks << " "
         << (r.requests ? static_cast<double>(r.misses) / static_cast<double>(r.requests) : 0.0)
         << "\n";
    }
    gp << "e\n";
  }
  gp.close();
  const std::string cmd = "gnuplot '" + script + "'";
  if (std::system(cmd.c_str()) != 0) fail("gnuplot failed on '" + script + "'", 3);
  std::remove(script.c_str());
}

void usage() {
  std::fputs("usage: trace_replay [--column NAME] [--policies LIST] [--sizes LIST] [--belady]\n"
             "                    [--plot OUT.svg] TRACE\n",
             stderr);
}

} // namespace

int main(int argc, char** argv) {
  std::string path, column, plot_out;
  std::vector<std::string> pols;
  for (const named_policy& p : named_policies) pols.emplace_back(p.name);
  std::vector<std::size_t> sizes = {100, 1000, 10000};
  bool want_belady = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--column")
      column = value();
    else if (a == "--policies")
      pols = split(value(), ',');
    else if (a == "--sizes") {
      sizes.clear();
      for (const auto& s : split(value(), ',')) {
        std::uint64_t v = 0;
        if (!parse_u64(trim(s), v) || v == 0 || v > max_blocks)
          fail("--sizes: '" + s + "' is not a size in 1.." + std::to_string(max_blocks));
        sizes.push_back(static_cast<std::size_t>(v));
      }
    } else if (a == "--belady")
      want_belady = true;
    else if (a == "--plot")
      plot_out = value();
    else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      usage();
      fail("unknown option '" + a + "'");
    } else if (path.empty())
      path = a;
    else
      fail("more than one trace file given");
  }
  if (path.empty()) {
    usage();
    fail("no trace file given");
  }
  std::vector<replay_fn> runs;
  for (const auto& p : pols) runs.push_back(find_policy(p));
  const auto trace = load_trace(path, column);
  std::vector<run_result> results;
  for (const replay_fn run : runs) {
    for (const std::size_t n : sizes) {
      results.push_back(run(trace, n));
      print(results.back());
    }
  }
  if (want_belady) {
    for (const std::size_t n : sizes) {
      results.push_back(belady(trace, n));
      print(results.back());
    }
    pols.push_back("belady");
  }
  std::fflush(stdout);
  if (!plot_out.empty()) plot(plot_out, results, pols);
  return 0;
}
