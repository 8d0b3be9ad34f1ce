// Ten pings, ten pongs over loopback; exits 0 when every pong came back.
#include <future>

#include "ping.wiregen.h"

namespace {

struct ponger : consumer::server_handler {
  void on_message(consumer::server_session& session, const consumer::Ping& ping) override {
    consumer::Pong pong;
    pong.set_n(ping.n());
    session.send(pong);
  }
};

struct pinger : consumer::client_handler {
  void on_message(consumer::client_session&, const consumer::Pong& pong) override {
    if (pong.n() == 10) {
      done.set_value();
    }
  }
  std::promise<void> done;
};

}  // namespace

int main() {
  ponger server_handler;
  consumer::server server(server_handler, {.io_threads = 1});
  if (server.listen("127.0.0.1", 0)) {
    return 1;
  }
  pinger client_handler;
  consumer::client client(client_handler);
  if (client.connect("127.0.0.1", server.port())) {
    return 1;
  }
  for (unsigned n = 1; n <= 10; ++n) {
    consumer::Ping ping;
    ping.set_n(n);
    client.session().send(ping);
  }
  const bool ok = client_handler.done.get_future().wait_for(std::chrono::seconds(10)) ==
                  std::future_status::ready;
  client.stop();
  server.stop();
  return ok ? 0 : 1;
}
