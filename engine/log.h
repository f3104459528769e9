/*
 * log.h - diagnostics for humans: one line per event through the handler set
 * with lsm_set_log_handler() (stderr by default). Lines start with "lsm: ",
 * are lowercase, carry no full stop, and name the file and offset when they
 * report corruption:
 *   lsm: corrupt block in '000123.sst' at offset 40960: checksum mismatch
 * Thread-safe.
 */
#ifndef LSM_LOG_H
#define LSM_LOG_H

__attribute__((format(printf, 1, 2))) void lsm_log(const char *fmt, ...);

#endif
