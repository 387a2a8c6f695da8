// Arena planner: constructive placement heuristics plus an iterated local search (see planner.h).
#include "memory/planner.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/splitmix.h"

namespace tte {
namespace {

int64_t AlignUp(int64_t v) { return (v + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

bool Live(const ArenaBuffer& b) { return b.first <= b.last && b.bytes > 0; }

// Places buffers in a given order. Conflict lists (buffers whose lifetimes overlap) are built once.
class Placer {
 public:
  explicit Placer(const std::vector<ArenaBuffer>& buffers) : b_(buffers), conflicts_(buffers.size()) {
    const int n = static_cast<int>(b_.size());
    std::vector<int> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](int x, int y) { return b_[x].first < b_[y].first; });
    // Sweep in order of first use: a buffer conflicts with every earlier-starting one still live.
    for (int a = 0; a < n; ++a) {
      const ArenaBuffer& x = b_[idx[a]];
      if (!Live(x)) continue;
      for (int c = a + 1; c < n && b_[idx[c]].first <= x.last; ++c) {
        if (!Live(b_[idx[c]])) continue;
        conflicts_[idx[a]].push_back(idx[c]);
        conflicts_[idx[c]].push_back(idx[a]);
      }
    }
    work_ = n;
    for (const auto& c : conflicts_) work_ += static_cast<int64_t>(c.size());
  }

  // Returns the arena size; fills offsets (by buffer index).
  int64_t Place(const std::vector<int>& order, bool best_fit, std::vector<int64_t>* offsets) {
    const int n = static_cast<int>(b_.size());
    offsets->assign(n, -1);
    int64_t arena = 0;
    for (int i : order) {
      const int64_t bytes = b_[i].bytes;
      if (!Live(b_[i])) {  // never live: anywhere, offset 0
        (*offsets)[i] = 0;
        arena = std::max(arena, bytes);
        continue;
      }
      occupied_.clear();
      for (int c : conflicts_[i])
        if ((*offsets)[c] >= 0) occupied_.emplace_back((*offsets)[c], (*offsets)[c] + b_[c].bytes);
      std::sort(occupied_.begin(), occupied_.end());
      int64_t cand = 0, best = -1, best_gap = std::numeric_limits<int64_t>::max();
      for (const auto& [begin, end] : occupied_) {
        if (begin >= cand + bytes) {
          if (!best_fit) {
            best = cand;
            break;
          }
          if (begin - cand < best_gap) best_gap = begin - cand, best = cand;
        }
        cand = std::max(cand, AlignUp(end));
      }
      if (best < 0) best = cand;
      (*offsets)[i] = best;
      arena = std::max(arena, best + bytes);
    }
    return arena;
  }

  int64_t work() const { return work_; }

 private:
  const std::vector<ArenaBuffer>& b_;
  std::vector<std::vector<int>> conflicts_;
  std::vector<std::pair<int64_t, int64_t>> occupied_;
  int64_t work_ = 0;
};

// Max live bytes at one op, and per buffer the max live bytes over its lifetime.
int64_t LiveCurve(const std::vector<ArenaBuffer>& b, std::vector<int64_t>* pressure) {
  int last = -1;
  for (const ArenaBuffer& x : b) last = std::max(last, x.last);
  std::vector<int64_t> live(last + 2, 0);
  for (const ArenaBuffer& x : b)
    if (Live(x)) live[x.first] += x.bytes, live[x.last + 1] -= x.bytes;
  int64_t run = 0, peak = 0;
  for (int i = 0; i <= last; ++i) run += live[i], live[i] = run, peak = std::max(peak, run);
  pressure->assign(b.size(), 0);
  for (size_t k = 0; k < b.size(); ++k) {
    for (int i = b[k].first; i <= b[k].last; ++i) (*pressure)[k] = std::max((*pressure)[k], live[i]);
    peak = std::max(peak, b[k].bytes);
  }
  return peak;
}

std::vector<int> Order(const std::vector<ArenaBuffer>& b, Heuristic h,
                       const std::vector<int64_t>& pressure) {
  std::vector<int> order(b.size());
  std::iota(order.begin(), order.end(), 0);
  auto len = [&](int i) { return static_cast<int64_t>(b[i].last - b[i].first + 1); };
  auto by = [&](auto key) {
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
      auto kx = key(x), ky = key(y);
      return kx != ky ? kx > ky : x < y;  // descending key, then index
    });
  };
  switch (h) {
    case Heuristic::kGreedyBySize:
    case Heuristic::kSearch:
      by([&](int i) { return std::make_pair(b[i].bytes, -b[i].first); });
      break;
    case Heuristic::kGreedyByLifetime:
      by([&](int i) { return std::make_pair(len(i), b[i].bytes); });
      break;
    case Heuristic::kFirstFit:
    case Heuristic::kBestFit:
      by([&](int i) { return std::make_pair(-static_cast<int64_t>(b[i].first), b[i].bytes); });
      break;
    case Heuristic::kGreedyByArea:
      by([&](int i) { return std::make_pair(b[i].bytes * len(i), b[i].bytes); });
      break;
    case Heuristic::kGreedyByPressure:
      by([&](int i) { return std::make_pair(pressure[i], b[i].bytes); });
      break;
  }
  return order;
}


// Iterated local search over placement orders (first-fit), from `order`.
int64_t Search(const std::vector<ArenaBuffer>& b, Placer* placer, int64_t lower_bound,
               const PlannerOptions& opt, std::vector<int> order, std::vector<int64_t>* best_offsets) {
  std::vector<int64_t> cur_offsets, offsets;
  int64_t cur = placer->Place(order, false, &cur_offsets);
  int64_t best = cur;
  *best_offsets = cur_offsets;
  const int n = static_cast<int>(order.size());
  if (n < 2) return best;
  const int64_t iters = std::min<int64_t>(opt.max_search_iterations,
                                          opt.search_work / std::max<int64_t>(1, placer->work()));
  SplitMix64 rng{opt.seed};
  std::vector<int> cand, top;
  for (int64_t it = 0; it < iters && best > lower_bound; ++it) {
    cand = order;
    if (rng.Next() & 1) {
      // Move a buffer that reaches the arena top to an earlier position.
      top.clear();
      for (int i = 0; i < n; ++i)
        if (cur_offsets[order[i]] + b[order[i]].bytes == cur) top.push_back(i);
      const int p = top.empty() ? static_cast<int>(rng.Below(n)) : top[rng.Below(top.size())];
      const int q = static_cast<int>(rng.Below(p + 1));
      std::rotate(cand.begin() + q, cand.begin() + p, cand.begin() + p + 1);
    } else {
      std::swap(cand[rng.Below(n)], cand[rng.Below(n)]);
    }
    const int64_t a = placer->Place(cand, false, &offsets);
    if (a <= cur) {
      order.swap(cand);
      cur_offsets.swap(offsets);
      cur = a;
      if (a < best) best = a, *best_offsets = cur_offsets;
    }
  }
  return best;
}

}  // namespace

const char* HeuristicName(Heuristic h) {
  switch (h) {
    case Heuristic::kGreedyBySize: return "greedy-by-size";
    case Heuristic::kGreedyByLifetime: return "greedy-by-lifetime";
    case Heuristic::kFirstFit: return "first-fit";
    case Heuristic::kBestFit: return "best-fit";
    case Heuristic::kGreedyByArea: return "greedy-by-area";
    case Heuristic::kGreedyByPressure: return "greedy-by-pressure";
    case Heuristic::kSearch: return "search";
  }
  return "?";
}

Placement PlaceBuffers(const std::vector<ArenaBuffer>& buffers, Heuristic h, const PlannerOptions& opt) {
  Placer placer(buffers);
  std::vector<int64_t> pressure;
  const int64_t lb = LiveCurve(buffers, &pressure);
  Placement p;
  p.heuristic = h;
  const std::vector<int> order = Order(buffers, h, pressure);
  if (h == Heuristic::kSearch)
    p.arena_bytes = Search(buffers, &placer, lb, opt, order, &p.offsets);
  else
    p.arena_bytes = placer.Place(order, h == Heuristic::kBestFit, &p.offsets);
  p.tried.push_back({h, p.arena_bytes});
  return p;
}

Placement PlaceBuffersBest(const std::vector<ArenaBuffer>& buffers, const PlannerOptions& opt) {
  Placer placer(buffers);
  std::vector<int64_t> pressure;
  const int64_t lb = LiveCurve(buffers, &pressure);
  Placement best;
  best.arena_bytes = -1;
  std::vector<int> best_order;
  std::vector<int64_t> offsets;
  for (Heuristic h : {Heuristic::kGreedyBySize, Heuristic::kGreedyByLifetime, Heuristic::kFirstFit,
                      Heuristic::kBestFit, Heuristic::kGreedyByArea, Heuristic::kGreedyByPressure}) {
    std::vector<int> order = Order(buffers, h, pressure);
    const int64_t a = placer.Place(order, h == Heuristic::kBestFit, &offsets);
    best.tried.push_back({h, a});
    // The search continues from a first-fit order; best-fit's order is first-fit's.
    if (best.arena_bytes < 0 || a < best.arena_bytes) {
      best.arena_bytes = a;
      best.heuristic = h;
      best.offsets = offsets;
      best_order = std::move(order);
    }
  }
  if (opt.search && best.arena_bytes > lb) {
    std::vector<int64_t> search_offsets;
    const int64_t a = Search(buffers, &placer, lb, opt, best_order, &search_offsets);
    best.tried.push_back({Heuristic::kSearch, a});
    if (a < best.arena_bytes) {
      best.arena_bytes = a;
      best.heuristic = Heuristic::kSearch;
      best.offsets = std::move(search_offsets);
    }
  }
  return best;
}

Result<MemoryPlan> ComputeMemoryPlan(const Program& prog, const PlannerOptions& opt) {
  TTE_ASSIGN_OR_RETURN(Lifetimes lt, ComputeLifetimes(prog));
  Placement p = PlaceBuffersBest(lt.buffers, opt);
  MemoryPlan plan;
  plan.arena_bytes = p.arena_bytes;
  plan.lower_bound_bytes = lt.lower_bound;
  plan.heuristic = p.heuristic;
  plan.tried = p.tried;
  plan.peak_op = lt.peak_op;
  plan.peak_op_label = OpLabel(prog, lt.peak_op);
  plan.offsets.assign(prog.tensors.size(), -1);
  for (size_t bi = 0; bi < lt.buffers.size(); ++bi) {
    plan.no_reuse_bytes += AlignUp(lt.buffers[bi].bytes);
    for (int id : lt.buffers[bi].members) plan.offsets[id] = p.offsets[bi];
  }
  plan.lifetimes = std::move(lt);
  return plan;
}

void ApplyPlan(const MemoryPlan& plan, Program* prog) {
  for (size_t i = 0; i < prog->tensors.size() && i < plan.offsets.size(); ++i)
    if (prog->tensors[i].storage == Storage::kArena) prog->tensors[i].offset = plan.offsets[i];
}

Result<MemoryPlan> PlanMemory(Program* prog, const PlannerOptions& opt) {
  TTE_ASSIGN_OR_RETURN(MemoryPlan plan, ComputeMemoryPlan(*prog, opt));
  ApplyPlan(plan, prog);
  return plan;
}

}  // namespace tte
