#pragma once

// SIGINT and SIGTERM for the gRPC programs, which sigwait() for them: they
// are blocked before gRPC starts its threads, so that every thread inherits
// the mask and only sigwait() sees them.

#include <pthread.h>

#include <csignal>

namespace grpcbench {

inline sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

}  // namespace grpcbench
