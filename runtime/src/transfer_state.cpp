#include "transfer_state.hpp"

#include "thread_object_cache.hpp"
#include "wiregen/detail/buffer_pool.hpp"

namespace wiregen::detail {

namespace {

// Enough for the connections of a busy loop that move bytes at one
// moment; a block is about a hundred bytes.
using cache = thread_object_cache<transfer_state, 128>;

}  // namespace

transfer_state* transfer_state::take(frame_gate gate) {
  transfer_state* state = cache::take();
  state->loop = frame_loop(gate);
  return state;
}

void transfer_state::give_back(transfer_state* state) noexcept {
  if (state == nullptr) {
    return;
  }
  state->deadline.cancel();
  state->startup.reset();
  buffer_pool::give_back(state->input);
  buffer_pool::give_back(state->writing);
  state->write_offset = 0;
  state->writing_frames = 0;
  state->close_reason = {};
  state->budget_steps = 0;
  state->paused_for_memory = false;
  state->handshake_began = state->frame_began = {};
  cache::give_back(state);
}

}  // namespace wiregen::detail
