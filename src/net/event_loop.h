// EventLoop: one thread running an Asio io_context. The replication state machines (a
// target's ReplicatedVolume, a replica's ReplicaNode) each live on one loop: every call
// into them, and every callback out of them, happens on the loop's thread.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <functional>
#include <optional>
#include <string>
#include <thread>

namespace cstor::net {

class EventLoop {
 public:
  explicit EventLoop(std::string name);
  ~EventLoop();  // stops the loop
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts the thread. Work posted before this runs once it starts.
  void Start();
  // Stops the loop and joins its thread; work not yet run is dropped. Idempotent.
  void Stop();

  // Runs fn on the loop, later (never inline). Callable from any thread.
  void Post(std::function<void()> fn);
  // Runs fn on the loop and waits until it has run. Not from the loop's own thread.
  void Call(const std::function<void()>& fn);
  bool InLoop() const { return std::this_thread::get_id() == thread_id_; }

  asio::io_context& io() { return io_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace cstor::net
