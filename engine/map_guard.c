/* map_guard.c - SIGBUS from a mapped table becomes -EIO; see map_guard.h. */
#include "config.h"
#include "map_guard.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

/* Set by map_guard_copy() while it copies: where its SIGBUS goes. */
static __thread sigjmp_buf *volatile active;

static struct sigaction previous; /* written once, before the handler runs */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	sigjmp_buf *jb = active;
	if (jb) {
		active = NULL;
		siglongjmp(*jb, 1);
	}
	/* Not a guarded copy: what the process would have done without us. */
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, info, uctx);
		return;
	}
	if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	/* The default action, now: SA_NODEFER leaves SIGBUS unblocked here,
	 * so the raise() ends the process with its usual status and core. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGBUS, &dfl, NULL);
	raise(SIGBUS);
}

static void install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	/* SA_NODEFER: the siglongjmp() leaves the handler without restoring
	 * the signal mask (sigsetjmp(.., 0) saves none, which keeps the copy
	 * free of system calls), so SIGBUS must not be blocked inside it */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous))
		init_rc = -errno;
}

int map_guard_init(void)
{
	pthread_once(&init_once, install);
	return init_rc;
}

int map_guard_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0))
		return -EIO; /* on_sigbus() cleared active */
	active = &jb;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(dst, src, n);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	active = NULL;
	return 0;
}
