// tools/trace_replay, run as a program: output format, CSV input, clear
// errors naming file and line, Belady's bound, and exact LRU/FIFO counts
// against the reference model.
#include <catch2/catch.hpp>
#include <reference_caches.hpp>

#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {
// The tool lands in <build>/tools; this test in <build>/tests.
std::string tool() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  REQUIRE(n > 0);
  std::string self(buf, static_cast<std::size_t>(n));
  const std::string dir = self.substr(0, self.rfind('/'));
  const std::string path = dir + "/../tools/trace_replay";
  INFO("tools/trace_replay is built with the tests: " << path);
  REQUIRE(access(path.c_str(), X_OK) == 0);
  return path;
}

struct run_out {
  int status;
  std::string out, err;
};
run_out run(const std::string& args) {
  const std::string errfile = "trace_replay_test.err";
  const std::string cmd = tool() + " " + args + " 2>" + errfile;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  std::size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
  const int st = pclose(p);
  std::ifstream e(errfile);
  std::string err((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out, err};
}

std::vector<std::uint64_t> make_trace() {
  std::vector<std::uint64_t> t;
  std::uint64_t x = 12345;
  for (int i = 0; i < 6000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    if (i % 1000 < 150)
      t.push_back(50000 + std::uint64_t(i)); // scan
    else if (i % 3 == 0)
      t.push_back(std::uint64_t(i) % 97); // loop
    else
      t.push_back((x >> 33) % ((x >> 20) % 7 == 0 ? 5000 : 300)); // skewed
  }
  return t;
}
struct row {
  std::string policy;
  std::uint64_t blocks, requests, misses;
  double ratio;
};
std::vector<row> parse(const std::string& out) {
  static const std::regex re(
      R"re(^\{"policy": "([a-z_0-9]+)", "cache_blocks": (\d+), "requests": (\d+), "misses": (\d+), "miss_ratio": ([0-9.]+), "seconds": ([0-9.]+)\}$)re");
  std::vector<row> rows;
  std::size_t pos = 0;
  while (pos < out.size()) {
    const auto nl = out.find('\n', pos);
    const std::string line = out.substr(pos, nl - pos);
    pos = nl == std::string::npos ? out.size() : nl + 1;
    std::smatch m;
    INFO(line);
    REQUIRE(std::regex_match(line, m, re));
    rows.push_back(
        {m[1], std::stoull(m[2]), std::stoull(m[3]), std::stoull(m[4]), std::stod(m[5])});
  }
  return rows;
}
} // namespace

TEST_CASE("trace_replay: one JSON line per run; lru, fifo and clock_sweep match the reference "
          "exactly") {
  const auto t = make_trace();
  {
    std::ofstream f("tr_plain.txt");
    f << "# a comment\n";
    for (auto b : t) f << b << "\n";
  }
  const auto r =
      run("--policies lru,fifo,arc,clock_sweep --sizes 10,150,700 --belady tr_plain.txt");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto rows = parse(r.out);
  REQUIRE(rows.size() == 15);
  for (const auto& x : rows) {
    CHECK(x.requests == t.size());
    CHECK(x.ratio == Approx(double(x.misses) / double(t.size())).margin(1e-6));
    if (x.policy == "lru") CHECK(x.misses == biostack_test::reference_lru_misses(t, x.blocks));
    if (x.policy == "fifo") CHECK(x.misses == biostack_test::reference_fifo_misses(t, x.blocks));
    if (x.policy == "clock_sweep")
      CHECK(x.misses == biostack_test::reference_frame_clock_misses(t, x.blocks));
  }
  for (const auto& b : rows) {
    if (b.policy != "belady") continue;
    for (const auto& x : rows)
      if (x.policy != "belady" && x.blocks == b.blocks) CHECK(b.misses <= x.misses);
  }
}

TEST_CASE("trace_replay: without --policies every policy runs, in the documented order") {
  const auto r = run("--sizes 20,40 tr_plain.txt");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto rows = parse(r.out);
  const std::vector<std::string> all = {"lru", "clock",   "clock_sweep", "two_q",
                                        "arc", "s3_fifo", "sieve",       "fifo"};
  REQUIRE(rows.size() == 2 * all.size());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    CHECK(rows[k].policy == all[k / 2]);
    CHECK(rows[k].blocks == (k % 2 == 0 ? 20u : 40u));
  }
}

TEST_CASE("trace_replay: CSV input by header column") {
  const auto t = make_trace();
  {
    std::ofstream f("tr.csv");
    f << "time,lbn,op\n";
    for (std::size_t i = 0; i < t.size(); ++i) f << i << "," << t[i] << ",R\n";
  }
  const auto r = run("--column lbn --policies lru --sizes 64 tr.csv");
  REQUIRE(r.status == 0);
  const auto rows = parse(r.out);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].misses == biostack_test::reference_lru_misses(t, 64));
}

TEST_CASE("trace_replay: bad input gives a clear message naming file and line, non-zero exit") {
  {
    std::ofstream f("tr_bad.txt");
    f << "1\n2\n\n3x\n";
  }
  auto r = run("tr_bad.txt");
  CHECK(r.status != 0);
  CHECK(r.err.find("tr_bad.txt:4:") != std::string::npos);
  CHECK(r.err.find("3x") != std::string::npos);
  CHECK(r.out.empty());

  {
    std::ofstream f("tr_bad.csv");
    f << "time,lbn\n0,1\n1\n";
  }
  r = run("--column lbn tr_bad.csv");
  CHECK(r.status != 0);
  CHECK(r.err.find("tr_bad.csv:3:") != std::string::npos);
  r = run("--column block tr_bad.csv");
  CHECK(r.status != 0);
  CHECK(r.err.find("tr_bad.csv:1:") != std::string::npos);
  CHECK(r.err.find("block") != std::string::npos);

  r = run("does_not_exist.txt");
  CHECK(r.status != 0);
  CHECK(r.err.find("does_not_exist.txt") != std::string::npos);
  // Every name is checked before anything runs; the message lists the known ones.
  r = run("--policies lru,nope tr_plain.txt");
  CHECK(r.status != 0);
  CHECK(r.out.empty());
  CHECK(r.err.find("unknown policy 'nope' (known: "
                   "lru,clock,clock_sweep,two_q,arc,s3_fifo,sieve,fifo)") != std::string::npos);
  r = run("--sizes 0 tr_plain.txt");
  CHECK(r.status != 0);
}

TEST_CASE("trace_replay: --plot draws an SVG when gnuplot is installed") {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    const auto r = run("--sizes 10 --plot out.svg tr_plain.txt");
    CHECK(r.status != 0);
    CHECK(r.err.find("gnuplot") != std::string::npos);
    return;
  }
  std::remove("tr_curve.svg");
  const auto r = run("--sizes 10,100,1000 --belady --plot tr_curve.svg tr_plain.txt");
  REQUIRE(r.status == 0);
  std::ifstream svg("tr_curve.svg");
  std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  CHECK(text.find("<svg") != std::string::npos);
  CHECK(text.find("s3_fifo") != std::string::npos);
  CHECK(text.find("belady") != std::string::npos);
}
