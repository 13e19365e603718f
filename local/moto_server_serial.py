"""moto's server, one request at a time.

moto's TransactWriteItems is not isolated: on a failed condition it restores a copy of the table taken when
the transaction began, erasing writes that other request threads made in between (seen here: two racing
commits both failed and nothing was written). Real DynamoDB serialises transactions; a single-threaded
server is the faithful stand-in. Here a transaction checks every condition first and writes only if all hold,
without moto's copy of the table (which also replaced the table's stream shard, so a stream reader never saw
another record, and cost a deep copy of the whole table per commit); DynamoDB's stream never shows a write that
did not happen, and neither does this one.

A Query sorts every item of the table first (moto's `Table.all_items`), so on a table of a year of events each one
took seconds. Here a Query of one partition reads only that partition, and an index Query walks the items unsorted
(moto sorts what matches by the index's keys anyway): the same results in the same order.

Serial, the server's CPU is the whole local pipeline's budget for AWS calls (a storm of hundreds of failovers
waits on it), so three costs moto pays on every request and that never change while it runs are paid once:
the list of its service modules (read from disk, a directory listing and a stat per module, to route each
request by host), the method names of a response class (`inspect.getmembers` per request) and werkzeug's
access log line (the launcher discards it anyway). Profiled with cProfile over 2,000 DynamoDB calls, these were
about a third of the server's busy time; the SDK's own calls then cost the server about 30 % less CPU.

GetRecords is written as moto writes its DynamoDB items, not through moto's shape-driven serializer: counted by
request type in a 500-cluster storm, its pages took the server 2-4.5 s each, half of the server's CPU.

The server also listens on LANE_PORT and always serves a waiting call on that port before the next one
on PORT: the poller's commits go there, so a storm's notifier calls never hold up the recording of its changes.
Werkzeug closes every connection after its reply, so one call is one connection, and the choice is made per call.
Strictly first: letting a main-port call in after every three lane calls undid it (500 clusters failing over at
5 s: recording p95 14.0 s against 5.3 s strictly first, and the poller's transactions 2.4 a failover against 1.1,
its commits retried after the SDK's timeout).

Usage: moto_server_serial.py HOST PORT LANE_PORT
"""
import selectors
import sys
import types

import werkzeug.serving

_LANE_PORT = int(sys.argv[3])


def _serve_lane_first(main_server, lane_server):
    """One call at a time, as serve_forever does, but the lane's waiting connection always before the main port's."""
    with selectors.DefaultSelector() as selector:
        selector.register(main_server, selectors.EVENT_READ)
        selector.register(lane_server, selectors.EVENT_READ)
        try:
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                (lane_server if lane_server in ready else main_server)._handle_request_noblock()
        finally:
            main_server.server_close()
            lane_server.server_close()


def _serial_run_simple(hostname, port, application, **kwargs):
    handler = kwargs.get("request_handler")
    main_server, lane_server = (
        werkzeug.serving.make_server(hostname, p, application, request_handler=handler) for p in (port, _LANE_PORT)
    )
    _serve_lane_first(main_server, lane_server)


werkzeug.serving.run_simple = _serial_run_simple
# Werkzeug listens with a backlog of 128. Served one at a time, a storm's calls wait as connections in that
# backlog, and past 128 the kernel drops the SYN: the client retries it a second later and gives up at its 2 s
# connect timeout ("the request socket did not establish a connection"). Seen in a 500-cluster storm polled every
# second: 2,935 poller commits failed so, each retried on a later poll. The kernel caps this at net.core.somaxconn.
werkzeug.serving.BaseWSGIServer.request_queue_size = 4096


class _DrainWithoutWaiting(selectors.DefaultSelector):
    """
    After each reply, werkzeug reads what is left of the request until the client closes, waiting up to 10 ms
    each time (so that a client still sending a body too large sees a 413 instead of a reset). The SDK's calls
    have a length and moto reads them whole, so there is nothing left to read: the wait only lasts until the
    client's event loop gets round to closing its end, and the serial server does nothing else meanwhile. Taken
    with cProfile over 1,500 TransactWriteItems: the server spent about half its time in that wait.
    """

    def select(self, timeout=None):
        return super().select(0)


werkzeug.serving.selectors = types.SimpleNamespace(DefaultSelector=_DrainWithoutWaiting, EVENT_READ=selectors.EVENT_READ)

from moto.dynamodb.comparisons import get_filter_expression  # noqa: E402
from moto.dynamodb.exceptions import (  # noqa: E402
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402


def _transaction_key(backend, op_type, op):
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


_PARSED_CONDITIONS = {}


def _condition(expression, names, values):
    """
    A condition parsed once while the server runs when it has no values (`attribute_not_exists(pk)` on every
    event a commit writes): moto's parser lexes it again for every item, about an eighth of a commit in cProfile.
    A parsed condition only reads the item it is given, so one serves every check.
    """
    if values:
        return get_filter_expression(expression, names, values)
    key = (expression, tuple(sorted((names or {}).items())))
    if key not in _PARSED_CONDITIONS:
        if len(_PARSED_CONDITIONS) >= 1024:  # bounded whatever a client sends
            _PARSED_CONDITIONS.clear()
        _PARSED_CONDITIONS[key] = get_filter_expression(expression, names, values)
    return _PARSED_CONDITIONS[key]


def _checked(backend, transact_items):
    """Every operation with its key and current item, and the condition checks' outcomes (nothing written)."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    checked, errors, seen = [], [], set()
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        key = _transaction_key(backend, op_type, op)
        marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        current = backend.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        holds = condition is None or _condition(condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")).expr(current)
        if holds:
            errors.append((None, None, None))
        else:
            old = current.to_json()["Attributes"] if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else None
            errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
        checked.append((op_type, op, key, current))
    return checked, errors


def _apply(backend, op_type, op, key):
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"])
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"], key, update_expression=op["UpdateExpression"], expression_attribute_names=names, expression_attribute_values=values
        )


def _transact_in_place(self, transact_items):
    """
    TransactWriteItems without moto's deep copy of every table it touches (taken before each transaction, to
    restore on failure: O(table) per commit, which made a fleet's commits time out and the server grow by GBs).
    The server is serial, so checking every condition first and then writing is isolated; a write that fails
    half-way (an invalid update) puts back the items already written and the stream records they made.
    """
    checked, errors = _checked(self, transact_items)
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    shards = {name: (table, len(table.stream_shard.items)) for name, table in self.tables.items() if table.stream_shard is not None}
    applied = []
    try:
        for op_type, op, key, current in checked:
            if op_type == "ConditionCheck":
                continue
            applied.append((op["TableName"], key, current))
            _apply(self, op_type, op, key)
    except Exception:
        for table_name, key, current in reversed(applied):
            if current is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, current.to_json()["Attributes"])
        for table, length in shards.values():
            del table.stream_shard.items[length:]
        raise


DynamoDBBackend.transact_write_items = _transact_in_place

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

import json  # noqa: E402

from moto.dynamodb.models.utilities import DynamoJsonEncoder  # noqa: E402
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler  # noqa: E402


def _get_records_as_json(self):
    """
    GetRecords as moto's DynamoDB responses write items: its stream records are already in DynamoDB's JSON form. moto
    hands them to its shape-driven serializer instead, which walks every attribute of every image through the service
    model: a page of a storm's records (state items, old and new image) took the serial server 2-4.5 s each, counted
    by request type in a 500-cluster storm: half of the server's CPU, while every other call waited.
    """
    limit = self._get_param("Limit") or 1000
    return json.dumps(self.backend.get_records(self._get_param("ShardIterator"), limit), cls=DynamoJsonEncoder)


DynamoDBStreamsHandler.get_records = _get_records_as_json

import base64  # noqa: E402
import copy  # noqa: E402

from moto.dynamodb.exceptions import ItemSizeTooLarge  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict  # noqa: E402
from moto.dynamodb.models.table import StreamRecord  # noqa: E402


def _item_sized_once(self, hash_key, range_key, attrs):
    """
    An item whose size is checked once, for the same 405,000-byte limit. moto's item dict sums the size of every
    attribute so far (walking each nested map) on every insert: quadratic in an item's attributes, and the
    poller's state items have a dozen, some deep. Profiled over 2,000 commits: a fifth of the server's time. With the
    two patches below, a failover commit (the state and five events) took the server 6.1 ms of CPU instead of 8.1-8.6.
    """
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    for key, value in attrs.items():
        dict.__setitem__(self.attrs, key, DynamoType(value))
    if self.size() > 405000:
        raise ItemSizeTooLarge


def _regular_json_copied_once(self):
    """
    moto's `to_regular_json` deep-copies its whole value and then does the same for each nested value: every level
    of a state item was copied once per level above it. This builds the same plain JSON copying each value once.
    """
    value = self.value
    if isinstance(value, dict):
        value = {k: v.to_regular_json() if isinstance(v, DynamoType) else copy.deepcopy(v) for k, v in value.items()}
    elif isinstance(value, list):
        value = [v.to_regular_json() if isinstance(v, DynamoType) else copy.deepcopy(v) for v in value]
    if self.is_binary() and isinstance(value, str):
        value = base64.b64decode(value)
    return {self.type: value}


_stream_record_init = StreamRecord.__init__


def _stream_record_of_its_view(self, table, stream_type, event_name, old, new, seq):
    """A stream record that renders only the images its view keeps: moto renders both (the table's view is NEW_IMAGE)."""
    if stream_type not in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
        old = None
    elif stream_type not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
        new = None
    _stream_record_init(self, table, stream_type, event_name, old, new, seq)


Item.__init__ = _item_sized_once
DynamoType.to_regular_json = _regular_json_copied_once
StreamRecord.__init__ = _stream_record_of_its_view

import functools  # noqa: E402

import moto.backends  # noqa: E402
import moto.core.responses  # noqa: E402
from moto.moto_server.werkzeug_app import MotoRequestHandler  # noqa: E402

_MOTO_MODULES = frozenset(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: _MOTO_MODULES
moto.core.responses.method_names_from_class = functools.lru_cache(maxsize=None)(moto.core.responses.method_names_from_class)
MotoRequestHandler.log_request = lambda self, code="-", size="-": None

from moto.server import main  # noqa: E402  (must come after the patch: it binds run_simple at import)

if __name__ == "__main__":
    main(["-H", sys.argv[1], "-p", sys.argv[2]])
