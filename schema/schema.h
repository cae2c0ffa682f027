/* schema.h - the two numbers that identify a trace database, shared by its
 * writer (the collector) and its readers (ortho-top, ortho-report) so they
 * cannot drift apart. schema.sql sets the same values with PRAGMAs; a test
 * (check_tracedb) checks that the file and this header agree. */
#ifndef ORTHO_SCHEMA_H
#define ORTHO_SCHEMA_H

/* PRAGMA application_id: "ORTH" as a big-endian 32-bit number. */
#define ORTHO_DB_APPLICATION_ID 0x4F525448
/* PRAGMA user_version: bumped on any change readers must know about. */
#define ORTHO_DB_SCHEMA_VERSION 2

#endif
