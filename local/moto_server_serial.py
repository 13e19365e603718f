"""moto's server, one request at a time.

moto's TransactWriteItems is not isolated: on a failed condition it restores a copy of the table taken when
the transaction began, erasing writes that other request threads made in between (seen here: two racing
commits both failed and nothing was written). Real DynamoDB serialises transactions; a single-threaded
server is the faithful stand-in.

The same rollback also replaces each table with its copy, stream shard included: a stream reader's iterator then
points at the orphaned shard and never sees another record (seen with two pollers racing). After a transaction the
tables keep their original shard objects, without the records of a transaction that failed, as DynamoDB's stream
never shows a write that did not happen.

A Query sorts every item of the table first (moto's `Table.all_items`), so on a table of a year of events each one
took seconds. Here a Query of one partition reads only that partition, and an index Query walks the items unsorted
(moto sorts what matches by the index's keys anyway): the same results in the same order.

Usage: moto_server_serial.py HOST PORT
"""
import sys

import werkzeug.serving

_run_simple = werkzeug.serving.run_simple


def _serial_run_simple(*args, **kwargs):
    kwargs["threaded"] = False
    return _run_simple(*args, **kwargs)


werkzeug.serving.run_simple = _serial_run_simple

from moto.dynamodb.models import DynamoDBBackend  # noqa: E402

_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_keeping_streams(self, *args, **kwargs):
    shards = {name: (table.stream_shard, len(table.stream_shard.items)) for name, table in self.tables.items() if table.stream_shard is not None}
    try:
        return _transact_write_items(self, *args, **kwargs)
    finally:
        for name, (shard, length) in shards.items():
            table = self.tables.get(name)
            if table is not None and table.stream_shard is not shard:
                del shard.items[length:]
                shard.table = table
                table.stream_shard = shard


DynamoDBBackend.transact_write_items = _transact_keeping_streams

from moto.dynamodb.models.table import Table  # noqa: E402

_query = Table.query


def _query_without_sorting_the_table(self, hash_key, *args, **kwargs):
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if not self.range_key_attr:
        return _query(self, hash_key, *args, **kwargs)
    if index_name:
        candidates = [item for partition in self.items.values() for item in partition.values()]
    else:
        candidates = list(self.items.get(hash_key, {}).values())
    self.all_items = lambda: candidates
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


Table.query = _query_without_sorting_the_table

from moto.server import main  # noqa: E402  (must come after the patch: it binds run_simple at import)

if __name__ == "__main__":
    main(["-H", sys.argv[1], "-p", sys.argv[2]])
