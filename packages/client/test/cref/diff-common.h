/*
 * What the C halves of the differential tests (diff-cmap.c, diff-vq.c) share: the slot count,
 * the wait that tells "no event" from "one", cs_error_t names and the command tokenizer. Their
 * TypeScript halves share diff-common.mjs, which must print the same names and idle lines.
 * Functions are static inline so that a driver using only some of them compiles without warnings.
 */
#ifndef DIFF_COMMON_H
#define DIFF_COMMON_H

#include <corosync/corotypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#define NSLOT 4
#define IDLE_MS 200

/* The enumerator's name, as @corosync-ts/types' CsErrorCode has it; CS_ERR_<n> for any other value. */
static inline const char *errname(cs_error_t e)
{
	static char other[32];
	switch (e) {
	case CS_OK: return "CS_OK";
	case CS_ERR_LIBRARY: return "CS_ERR_LIBRARY";
	case CS_ERR_VERSION: return "CS_ERR_VERSION";
	case CS_ERR_INIT: return "CS_ERR_INIT";
	case CS_ERR_TIMEOUT: return "CS_ERR_TIMEOUT";
	case CS_ERR_TRY_AGAIN: return "CS_ERR_TRY_AGAIN";
	case CS_ERR_INVALID_PARAM: return "CS_ERR_INVALID_PARAM";
	case CS_ERR_NO_MEMORY: return "CS_ERR_NO_MEMORY";
	case CS_ERR_BAD_HANDLE: return "CS_ERR_BAD_HANDLE";
	case CS_ERR_BUSY: return "CS_ERR_BUSY";
	case CS_ERR_ACCESS: return "CS_ERR_ACCESS";
	case CS_ERR_NOT_EXIST: return "CS_ERR_NOT_EXIST";
	case CS_ERR_NAME_TOO_LONG: return "CS_ERR_NAME_TOO_LONG";
	case CS_ERR_EXIST: return "CS_ERR_EXIST";
	case CS_ERR_NO_SPACE: return "CS_ERR_NO_SPACE";
	case CS_ERR_INTERRUPT: return "CS_ERR_INTERRUPT";
	case CS_ERR_NAME_NOT_FOUND: return "CS_ERR_NAME_NOT_FOUND";
	case CS_ERR_NO_RESOURCES: return "CS_ERR_NO_RESOURCES";
	case CS_ERR_NOT_SUPPORTED: return "CS_ERR_NOT_SUPPORTED";
	case CS_ERR_BAD_OPERATION: return "CS_ERR_BAD_OPERATION";
	case CS_ERR_FAILED_OPERATION: return "CS_ERR_FAILED_OPERATION";
	case CS_ERR_MESSAGE_ERROR: return "CS_ERR_MESSAGE_ERROR";
	case CS_ERR_QUEUE_FULL: return "CS_ERR_QUEUE_FULL";
	case CS_ERR_QUEUE_NOT_AVAILABLE: return "CS_ERR_QUEUE_NOT_AVAILABLE";
	case CS_ERR_BAD_FLAGS: return "CS_ERR_BAD_FLAGS";
	case CS_ERR_TOO_BIG: return "CS_ERR_TOO_BIG";
	case CS_ERR_NO_SECTIONS: return "CS_ERR_NO_SECTIONS";
	case CS_ERR_CONTEXT_NOT_FOUND: return "CS_ERR_CONTEXT_NOT_FOUND";
	case CS_ERR_TOO_MANY_GROUPS: return "CS_ERR_TOO_MANY_GROUPS";
	case CS_ERR_SECURITY: return "CS_ERR_SECURITY";
	}
	snprintf(other, sizeof other, "CS_ERR_%d", (int)e);
	return other;
}

/* The next space-separated argument of the command strtok started on; "" past the last one. */
static inline char *next_tok(void)
{
	char *t = strtok(NULL, " ");
	return t ? t : "";
}

/*
 * CS_DISPATCH_ONE waits for ever with nothing to deliver: the drivers call it only when an event
 * is there. The daemon queues a notification before it answers the call that caused it, so a
 * short wait on the handle's fd tells "none" (1: print idle) from "one" (0).
 */
static inline int no_event(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, IDLE_MS) == 0;
}

#endif
