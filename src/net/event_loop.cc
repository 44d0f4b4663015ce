#include "net/event_loop.h"

#include <asio/post.hpp>
#include <future>

#include "base/check.h"
#include "base/log.h"

namespace cstor::net {

EventLoop::EventLoop(std::string name) : name_(std::move(name)) {}

EventLoop::~EventLoop() { Stop(); }

void EventLoop::Start() {
  CSTOR_CHECK(!thread_.joinable());
  guard_.emplace(io_.get_executor());
  auto started = std::make_shared<std::promise<void>>();
  auto ready = started->get_future();
  thread_ = std::thread([this, started] {
    thread_id_ = std::this_thread::get_id();
    started->set_value();
    try {
      io_.run();
    } catch (const std::exception& e) {
      // Handlers do not throw; if one does, the process cannot trust its state.
      CSTOR_LOG_ERROR("event loop {}: unexpected exception: {}", name_, e.what());
      std::abort();
    }
  });
  ready.wait();
}

void EventLoop::Stop() {
  if (!thread_.joinable()) return;
  CSTOR_CHECK(!InLoop());
  guard_.reset();
  io_.stop();
  thread_.join();
  thread_id_ = {};
}

void EventLoop::Post(std::function<void()> fn) { asio::post(io_, std::move(fn)); }

void EventLoop::Call(const std::function<void()>& fn) {
  CSTOR_CHECK(!InLoop());
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  Post([&fn, done] {
    fn();
    done->set_value();
  });
  finished.wait();
}

}  // namespace cstor::net
