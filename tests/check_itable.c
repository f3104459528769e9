/* check_itable.c - tests for fs/itable.c: pins, lookups and opens keep what
 * they should and no more, idle nodes are freed while their entries stay,
 * unlinked inodes are reported for purging exactly once, the write-behind
 * list, and a table of many entries. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "itable.h"
#include "testutil.h"

static struct itable t;

static void table_setup(void)
{
	ck_assert_int_eq(itable_init(&t), 0);
}

static void table_teardown(void)
{
	itable_release(&t);
}

/* ino with one kernel lookup, as after a successful FUSE lookup */
static void lookup(uint64_t ino)
{
	struct inode_node *n = itable_get(&t, ino);
	ck_assert_ptr_nonnull(n);
	itable_ref(&t, n);
	ck_assert_int_eq(itable_put(&t, n), 0);
}

START_TEST(pin_without_lookup_frees_all)
{
	struct inode_node *n = itable_get(&t, 5);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->ino, 5);
	ck_assert_uint_eq(itable_count(&t), 1);
	ck_assert_uint_eq(itable_nodes(&t), 1);
	ck_assert_ptr_eq(itable_get(&t, 5), n); /* a second pin, same node */
	ck_assert_int_eq(itable_put(&t, n), 0);
	ck_assert_uint_eq(itable_nodes(&t), 1);
	ck_assert_int_eq(itable_put(&t, n), 0);
	ck_assert_uint_eq(itable_count(&t), 0);
	ck_assert_uint_eq(itable_nodes(&t), 0);
}
END_TEST

START_TEST(lookup_keeps_entry_not_node)
{
	lookup(7);
	ck_assert_uint_eq(itable_count(&t), 1);
	ck_assert_uint_eq(itable_nodes(&t), 0);
	lookup(7);
	struct inode_node *n = itable_get(&t, 7);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->ino, 7);
	ck_assert_ptr_null(n->wb_data);
	ck_assert_int_eq(itable_put(&t, n), 0);
	/* two lookups: the entry lives until both are forgotten */
	ck_assert_int_eq(itable_forget(&t, 7, 1), 0);
	ck_assert_uint_eq(itable_count(&t), 1);
	ck_assert_int_eq(itable_forget(&t, 7, 1), 0);
	ck_assert_uint_eq(itable_count(&t), 0);
	/* unknown inodes and too large counts are harmless */
	ck_assert_int_eq(itable_forget(&t, 7, 1), 0);
	lookup(8);
	ck_assert_int_eq(itable_forget(&t, 8, 100), 0);
	ck_assert_uint_eq(itable_count(&t), 0);
}
END_TEST

START_TEST(forget_while_pinned)
{
	lookup(9);
	struct inode_node *n = itable_get(&t, 9);
	ck_assert_int_eq(itable_forget(&t, 9, 1), 0);
	ck_assert_uint_eq(itable_count(&t), 1); /* the pin keeps it */
	ck_assert_uint_eq(n->ino, 9);
	ck_assert_int_eq(itable_put(&t, n), 0);
	ck_assert_uint_eq(itable_count(&t), 0);
}
END_TEST

START_TEST(open_keeps_node)
{
	lookup(11);
	struct inode_node *n = itable_get(&t, 11);
	itable_open(&t, n);
	itable_open(&t, n);
	ck_assert_int_eq(itable_put(&t, n), 0);
	ck_assert_uint_eq(itable_nodes(&t), 1);
	ck_assert_ptr_eq(itable_get(&t, 11), n);
	ck_assert_uint_eq(itable_close(&t, n), 1);
	ck_assert_uint_eq(itable_close(&t, n), 0);
	ck_assert_int_eq(itable_put(&t, n), 0);
	ck_assert_uint_eq(itable_nodes(&t), 0);
	ck_assert_uint_eq(itable_count(&t), 1);
	/* open with no lookup (the kernel forgot first): the open keeps it */
	n = itable_get(&t, 11);
	itable_open(&t, n);
	ck_assert_int_eq(itable_put(&t, n), 0);
	ck_assert_int_eq(itable_forget(&t, 11, 1), 0);
	ck_assert_uint_eq(itable_count(&t), 1);
	n = itable_get(&t, 11);
	ck_assert_uint_eq(itable_close(&t, n), 0);
	ck_assert_int_eq(itable_put(&t, n), 0);
	ck_assert_uint_eq(itable_count(&t), 0);
}
END_TEST

START_TEST(buffer_keeps_node)
{
	lookup(13);
	struct inode_node *n = itable_get(&t, 13);
	n->wb_data = malloc(64);
	ck_assert_ptr_nonnull(n->wb_data);
	n->wb_data[0] = 'x';
	ck_assert_int_eq(itable_put(&t, n), 0);
	ck_assert_uint_eq(itable_nodes(&t), 1);
	n = itable_get(&t, 13);
	ck_assert_int_eq(n->wb_data[0], 'x');
	ck_assert_int_eq(itable_put(&t, n), 0);
	/* the last lookup frees the node, buffer included (ASan checks) */
	ck_assert_int_eq(itable_forget(&t, 13, 1), 0);
	ck_assert_uint_eq(itable_nodes(&t), 0);
	ck_assert_uint_eq(itable_count(&t), 0);
}
END_TEST

START_TEST(unlinked_purged_once)
{
	/* no lookups: the last put reports it */
	struct inode_node *n = itable_get(&t, 20);
	itable_set_unlinked(&t, n);
	ck_assert_int_eq(itable_put(&t, n), 1);
	ck_assert_uint_eq(itable_count(&t), 0);

	/* a lookup left: the node (and its flag) stays until the forget */
	lookup(21);
	n = itable_get(&t, 21);
	itable_set_unlinked(&t, n);
	ck_assert_int_eq(itable_put(&t, n), 0);
	ck_assert_uint_eq(itable_nodes(&t), 1);
	ck_assert_int_eq(itable_forget(&t, 21, 1), 1);
	ck_assert_uint_eq(itable_count(&t), 0);
	ck_assert_int_eq(itable_forget(&t, 21, 1), 0);

	/* open: the last close's put reports it */
	n = itable_get(&t, 22);
	itable_open(&t, n);
	itable_set_unlinked(&t, n);
	ck_assert_int_eq(itable_put(&t, n), 0);
	n = itable_get(&t, 22);
	ck_assert_uint_eq(itable_close(&t, n), 0);
	ck_assert_int_eq(itable_put(&t, n), 1);
	ck_assert_uint_eq(itable_count(&t), 0);
}
END_TEST

START_TEST(wb_list)
{
	uint64_t *inos;
	size_t count;
	lookup(30);
	lookup(31);
	struct inode_node *a = itable_get(&t, 30), *b = itable_get(&t, 31);
	a->wb_data = malloc(8);
	ck_assert_ptr_nonnull(a->wb_data);
	a->wb_dirty = 1;
	itable_wb_mark(&t, a);
	itable_wb_mark(&t, a);
	itable_wb_mark(&t, b); /* listed, nothing buffered */
	ck_assert_int_eq(itable_wb_list(&t, &inos, &count), 0);
	ck_assert_uint_eq(count, 2);
	ck_assert(inos[0] + inos[1] == 61);
	free(inos);
	ck_assert_int_eq(itable_put(&t, a), 0);
	ck_assert_int_eq(itable_put(&t, b), 0); /* idle: freed and unlisted */
	ck_assert_uint_eq(itable_nodes(&t), 1);
	ck_assert_int_eq(itable_wb_list(&t, &inos, &count), 0);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_eq(inos[0], 30);
	free(inos);
	a = itable_get(&t, 30);
	a->wb_dirty = 0;
	itable_wb_unmark(&t, a);
	itable_wb_unmark(&t, a);
	ck_assert_int_eq(itable_wb_list(&t, &inos, &count), 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_ptr_null(inos);
	ck_assert_int_eq(itable_put(&t, a), 0);
}
END_TEST

static void count_node(struct inode_node *n, void *ctx)
{
	(void)n;
	++*(size_t *)ctx;
}

/* Many entries: the buckets grow, slabs are reused, each finds its own. */
START_TEST(many_entries)
{
	const uint64_t N = 20000; /* 20 slabs, buckets grown 4 times */
	size_t visited = 0;
	for (uint64_t i = 1; i <= N; i++)
		lookup(i * 7919);
	ck_assert_uint_eq(itable_count(&t), N);
	ck_assert_uint_eq(itable_nodes(&t), 0);
	struct inode_node *keep = itable_get(&t, 7919);
	for (uint64_t i = 1; i <= N; i++) {
		struct inode_node *n = itable_get(&t, i * 7919);
		ck_assert_ptr_nonnull(n);
		ck_assert_uint_eq(n->ino, i * 7919);
		ck_assert_int_eq(itable_put(&t, n), 0);
	}
	itable_for_each(&t, count_node, &visited);
	ck_assert_uint_eq(visited, 1);
	for (uint64_t i = 1; i <= N; i += 2)
		ck_assert_int_eq(itable_forget(&t, i * 7919, 1), 0);
	ck_assert_uint_eq(itable_count(&t), N / 2 + 1); /* keep is pinned */
	for (uint64_t i = 1; i <= N; i += 2)
		lookup(i * 7919 + 1);
	ck_assert_uint_eq(itable_count(&t), N + 1);
	ck_assert_int_eq(itable_put(&t, keep), 0);
	ck_assert_uint_eq(itable_count(&t), N);
	/* left for itable_release(), which frees entries and slabs */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("itable");
	TCase *tc = tcase_create("lifetime");
	tcase_add_checked_fixture(tc, table_setup, table_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, pin_without_lookup_frees_all);
	tcase_add_test(tc, lookup_keeps_entry_not_node);
	tcase_add_test(tc, forget_while_pinned);
	tcase_add_test(tc, open_keeps_node);
	tcase_add_test(tc, buffer_keeps_node);
	tcase_add_test(tc, unlinked_purged_once);
	tcase_add_test(tc, wb_list);
	tcase_add_test(tc, many_entries);
	suite_add_tcase(s, tc);

	return tu_run("check_itable", s);
}
