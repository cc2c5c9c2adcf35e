/* SPDX-License-Identifier: MIT */
/*
 * Compile-only (tests/executor/test_umbrella.sh): a program that includes only the umbrella
 * header <executor/executor.h> can call every public function and macro of libexecutor.
 * test_umbrella.sh compiles this file with gcc and clang and their default flags plus
 * -Werror=implicit-function-declaration, and checks that every public name declared by the
 * headers is called here, so a new public header or function cannot be left out of the umbrella.
 * Never run: the arguments only have to have the right types.
 */
#include <executor/executor.h>

static int64_t blocking_fn(void *arg)
{
	return arg != NULL;
}

static int task_cb(const struct ex_task_info *info, void *arg)
{
	return info != NULL && arg != NULL;
}

static void drop_fn(struct ex_future *f)
{
	(void)f;
}

static void msg_drop(void *msg)
{
	(void)msg;
}

struct app {
	struct ex_future fut;
	struct ex_async a;
	struct ex_sleep sleep;
};

/* The async macros and the cancel scope, in an async function. */
static ex_poll_t app_poll(struct ex_future *f, struct ex_context *cx)
{
	struct app *s = ex_container_of(f, struct app, fut);
	EX_BEGIN(&s->a);
	EX_AWAIT(&s->a, cx, &ex_sleep(&s->sleep, 1000)->base);
	if (EX_AWAITED(&s->a) < 0)
		EX_RETURN(&s->a, f, EX_AWAITED(&s->a));
	EX_YIELD(&s->a, cx);
	{
		EX_CANCEL_SCOPE(scope, NULL);
		if (scope.err < 0)
			EX_RETURN(&s->a, f, scope.err);
	}
	EX_END(&s->a, f, 0);
}

static struct app app_state;

static struct ex_future *make_root(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	app_state.fut.poll = app_poll;
	ex_async_init(&app_state.a);
	return &app_state.fut;
}

EX_MAIN(make_root)

/* future.h, async.h */
void umbrella_future(struct ex_future *f, struct ex_context *cx, struct ex_waker *w);
void umbrella_future(struct ex_future *f, struct ex_context *cx, struct ex_waker *w)
{
	struct ex_ready r;
	struct ex_waker c = ex_waker_clone(w);
	(void)ex_poll(f, cx);
	ex_waker_wake_by_ref(w);
	ex_waker_wake(&c);
	ex_waker_drop(&c);
	(void)ex_waker_will_wake(w, &c);
	(void)ex_waker_is_set(w);
	ex_waker_store(&c, w);
	(void)ex_ready(&r, 1);
	(void)ex_noop_waker();
	(void)EX_CANCEL_SAFE(ex_ready(&r, 1));
	(void)EX_CANCEL_SAFE_AS(ex_ready(&r, 1), "umbrella");
	(void)EX_CANCEL_SAFE_ARG(ex_ready(&r, 1), "umbrella");
	(void)EX_NOT_CANCEL_SAFE_MSG("umbrella");
}

/* runtime.h, task.h, blocking.h, signal.h */
void umbrella_runtime(struct ex_runtime *rt, struct ex_future *f);
void umbrella_runtime(struct ex_runtime *rt, struct ex_future *f)
{
	struct ex_runtime_config cfg = ex_runtime_config_default();
	struct ex_runtime *r2;
	int64_t out;
	struct ex_join_handle h;
	struct ex_join j;
	struct ex_task_info ti;
	struct ex_blocking b;
	(void)ex_runtime_new(&cfg, &r2);
	(void)ex_runtime_block_on(rt, f, &out);
	(void)ex_runtime_current();
	(void)ex_runtime_workers(rt);
	struct ex_runtime_stats rst;
	(void)ex_runtime_get_stats(rt, &rst);
	static const struct ex_await_point ap = { "f", "f.c", 1, "x" };
	struct ex_park park = { 0 }, park_copy;
	struct ex_context pcx = { .waker = ex_noop_waker(), .park = &park };
	ex_park_at(&pcx, &ap);
	ex_park_wait(&pcx, EX_WAIT_SLEEP, 1);
	ex_park_wait_weak(&pcx, EX_WAIT_CANCEL, 0);
	ex_park_snapshot(&park, &park_copy);
	(void)ex_wait_kind_name(EX_WAIT_JOIN);
	ex_runtime_log(rt, 6, "%d", 1);
	ex_runtime_set_detach_grace(rt, 0);
	(void)ex_main(&cfg, f);
	(void)ex_spawn(f, drop_fn, "t", &h);
	(void)ex_spawn_on(rt, f, drop_fn, "t", &h);
	(void)ex_join_handle_is_finished(&h);
	(void)ex_join_handle_id(&h);
	(void)ex_join(&j, &h);
	ex_join_handle_detach(&h);
	(void)ex_task_state_name(EX_TASK_IDLE);
	(void)ex_task_info_by_id(rt, 1, &ti);
	(void)ex_runtime_foreach_task(rt, task_cb, NULL);
	(void)ex_task_current_id();
	(void)ex_task_current_name();
	(void)ex_spawn_blocking(&b, blocking_fn, NULL);
	(void)ex_runtime_shutdown_token(rt);
	(void)ex_runtime_shutdown(rt);
	ex_runtime_free(r2);
}

/* io.h, time.h */
void umbrella_io(struct ex_io *io, int fd, struct statx *stx, struct signalfd_siginfo *si);
void umbrella_io(struct ex_io *io, int fd, struct statx *stx, struct signalfd_siginfo *si)
{
	char buf[8];
	struct iovec iov = { buf, sizeof(buf) };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ex_sleep s;
	(void)ex_openat(io, AT_FDCWD, "x", O_RDONLY, 0);
	(void)ex_close(io, fd);
	(void)ex_statx(io, AT_FDCWD, "x", 0, 0, stx);
	(void)ex_renameat(io, AT_FDCWD, "x", AT_FDCWD, "y", 0);
	(void)ex_unlinkat(io, AT_FDCWD, "x", 0);
	(void)ex_mkdirat(io, AT_FDCWD, "x", 0700);
	(void)ex_connect(io, fd, (struct sockaddr *)&ss, sl);
	(void)ex_recv(io, fd, buf, sizeof(buf), 0);
	(void)ex_send(io, fd, buf, sizeof(buf), 0);
	(void)ex_read_signalfd(io, fd, si);
	(void)ex_poll_fd(io, fd, 1);
	(void)ex_accept(io, fd, (struct sockaddr *)&ss, &sl, 0);
	(void)ex_recv_ready(io, fd, buf, sizeof(buf), 0);
	(void)ex_read(io, fd, buf, sizeof(buf), 0);
	(void)ex_write(io, fd, buf, sizeof(buf), 0);
	(void)ex_write_flags(io, fd, buf, sizeof(buf), 0, 0);
	(void)ex_readv(io, fd, &iov, 1, 0);
	(void)ex_writev(io, fd, &iov, 1, 0);
	(void)ex_fsync(io, fd);
	(void)ex_fdatasync(io, fd);

	(void)ex_now_ns();
	(void)ex_sleep(&s, 1);
	(void)ex_sleep_until(&s, 1);
}

/* cancel.h, select.h */
void umbrella_cancel(struct ex_cancel_token *tok);
void umbrella_cancel(struct ex_cancel_token *tok)
{
	struct ex_cancel_token *t2;
	struct ex_cancelled c;
	struct ex_cancel_scope sc = ex_cancel_scope_make(tok);
	struct ex_select sel;
	struct ex_timeout t;
	struct ex_sleep s;
	struct ex_cancel_safe_future *arr[1] = { ex_cancelled(&c, tok) };
	(void)ex_cancel_scope_enter(&sc, tok);
	ex_cancel_scope_exit(&sc);
	(void)ex_cancel_reason_name(EX_CANCEL_SHUTDOWN);
	(void)ex_cancel_token_new(&t2);
	(void)ex_cancel_token_child(tok, &t2);
	(void)ex_cancel_token_ref(tok);
	(void)ex_cancel_token_cancel(tok, EX_CANCEL_SHUTDOWN);
	(void)ex_cancel_token_is_cancelled(tok);
	(void)ex_cancel_token_reason(tok);
	ex_cancel_token_unref(t2);
	(void)ex_select(&sel, ex_cancelled(&c, tok), ex_sleep(&s, 1));
	(void)ex_select_array(&sel, arr, 1);
	(void)ex_timeout(&t, 1, ex_cancelled(&c, tok));
	(void)ex_timeout_until(&t, 1, ex_cancelled(&c, tok));
	(void)ex_timeout_with(&t, ex_sleep(&s, 1), ex_cancelled(&c, tok));
	(void)ex_timeout_ns(&t, 1, ex_cancelled(&c, tok));
	(void)ex_timeout_at(&t, 1, ex_cancelled(&c, tok));
	(void)ex_timeout_with_timer(&t, ex_sleep(&s, 1), ex_cancelled(&c, tok));
}

/* seqwait.h, channel.h, oneshot.h, mutex.h, semaphore.h, bundle.h */
void umbrella_sync(struct ex_seqwait *sw, struct ex_channel *ch, struct ex_oneshot *o,
		   struct ex_mutex *m, struct ex_bundle *b, struct ex_future *f);
void umbrella_sync(struct ex_seqwait *sw, struct ex_channel *ch, struct ex_oneshot *o,
		   struct ex_mutex *m, struct ex_bundle *b, struct ex_future *f)
{
	struct ex_seqwait *sw2;
	struct ex_seqwait_wait w;
	struct ex_seqwait_wait_timeout wt;
	struct ex_channel *ch2;
	struct ex_channel_send cs;
	struct ex_channel_recv cr;
	void *msg;
	struct ex_oneshot *o2;
	struct ex_oneshot_recv orv;
	struct ex_mutex_lock ml;
	struct ex_semaphore sem;
	struct ex_semaphore_acquire sa;
	struct ex_bundle *b2;
	struct ex_bundle_wait bw;
	struct ex_bundle_result br;
	(void)ex_seqwait_new(0, &sw2);
	(void)ex_seqwait_load(sw);
	(void)ex_seqwait_advance(sw, 1);
	(void)ex_seqwait_waiters(sw);
	(void)ex_seqwait_next_target(sw);
	(void)ex_seqwait_wait_for(&w, sw, 1);
	(void)ex_seqwait_wait_timeout(&wt, sw, 1, 1);
	ex_seqwait_shutdown(sw);
	(void)ex_seqwait_free(sw2);
	(void)ex_channel_new(1, msg_drop, &ch2);
	(void)ex_channel_ref(ch);
	(void)ex_channel_len(ch);
	(void)ex_channel_try_send(ch, NULL);
	(void)ex_channel_try_recv(ch, &msg);
	(void)ex_channel_send(&cs, ch, NULL);
	(void)ex_channel_recv(&cr, ch);
	ex_channel_close(ch);
	ex_channel_unref(ch2);
	(void)ex_oneshot_new(&o2);
	(void)ex_oneshot_send(o, 1);
	(void)ex_oneshot_is_closed(o);
	(void)ex_oneshot_recv(&orv, o);
	ex_oneshot_sender_drop(o2);
	ex_oneshot_receiver_drop(o2);
	(void)ex_mutex_init(m);
	(void)ex_mutex_try_lock(m);
	(void)ex_mutex_lock(&ml, m);
	ex_mutex_unlock(m);
	(void)ex_mutex_destroy(m);
	(void)ex_semaphore_init(&sem, 2);
	(void)ex_semaphore_try_acquire(&sem);
	(void)ex_semaphore_acquire(&sa, &sem);
	(void)ex_semaphore_available(&sem);
	ex_semaphore_release(&sem);
	(void)ex_semaphore_destroy(&sem);
	(void)ex_bundle_new(NULL, &b2);
	(void)ex_bundle_spawn(b, f, drop_fn, "t");
	(void)ex_bundle_size(b);
	(void)ex_bundle_wait(&bw, b);
	(void)ex_bundle_result(b, 0, &br);
	(void)ex_bundle_first_failed(b);
	(void)ex_bundle_token(b);
	(void)ex_bundle_cancel(b, EX_CANCEL_SHUTDOWN);
	ex_bundle_free(b2);
}
