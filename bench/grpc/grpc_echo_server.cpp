// The gRPC C++ baseline of the benchmark: the bench protocol's echo as a
// unary call and as a bidirectional stream, on gRPC's callback API (its
// fastest C++ server API). Serves until SIGINT or SIGTERM.
//
//   grpc_echo_server --listen 127.0.0.1:0
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "grpc_echo.grpc.pb.h"
#include "stop_signals.hpp"

namespace {

/// One stream: read a request, write its reply, read the next. gRPC allows
/// one write in flight per stream, so replies leave one at a time.
class echo_stream final
    : public grpc::ServerBidiReactor<grpcbench::EchoRequest, grpcbench::EchoReply> {
 public:
  echo_stream() { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    reply_.set_seq(request_.seq());
    reply_.mutable_payload()->swap(*request_.mutable_payload());
    StartWrite(&reply_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  grpcbench::EchoRequest request_;
  grpcbench::EchoReply reply_;
};

class echo_service final : public grpcbench::Echo::CallbackService {
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const grpcbench::EchoRequest* request,
                                 grpcbench::EchoReply* reply) override {
    reply->set_seq(request->seq());
    reply->set_payload(request->payload());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<grpcbench::EchoRequest, grpcbench::EchoReply>* Stream(
      grpc::CallbackServerContext*) override {
    return new echo_stream;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) != "--listen") {
    std::fprintf(stderr, "usage: %s --listen HOST:PORT\n", argv[0]);
    return 2;
  }
  const std::string address = argv[2];
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "grpc_echo_server: bad address %s\n", address.c_str());
    return 2;
  }
  const sigset_t stop_signals = grpcbench::block_stop_signals();

  echo_service service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  const auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "grpc_echo_server: cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::fprintf(stderr, "grpc_echo_server: listening on %s:%d\n", address.substr(0, colon).c_str(),
               port);
  int received = 0;
  sigwait(&stop_signals, &received);
  server->Shutdown();
  std::fprintf(stderr, "grpc_echo_server: stopped\n");
  return 0;
}
