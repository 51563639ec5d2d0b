#!/usr/bin/env python3
"""chip_server.py -- the reference dot-product chip server of cimsim's ExternalCore.

cimsim (hil/external_chip.h) starts this program with its stdin and stdout connected to a socket and
speaks the frame protocol of docs/external_core.md (hil/protocol.h) over it; with --listen PATH it
serves clients on a Unix socket instead. A lab adapts it to a real chip by replacing the Device class
(program / reads / results): everything else is the protocol. Only numpy is needed.

Frames (little-endian): magic u32 "CIMX", version u16 = 1, type u16, payload_bytes u32, payload.
Payload: json_bytes u32, a UTF-8 JSON object, then a raw array up to the end of the payload.

Devices (--device):
  ideal  exact column sums: every ADC has lsb 1 and enough bits (reads are integers, results exact).
  noisy  per PROGRAM, Gaussian programming noise on each cell pair's conductance (sigma = program_sigma
         digit ranges, drawn from PCG64([program_seed, layer_id])); per read, Gaussian read noise of
         sigma = read_sigma x the column's full scale R, drawn from PCG64(seed of the MULTIPLY) in the
         READS order; a finite ADC (adc_bits) with the fixed range R per readout column.
Geometry (both devices): tiles of rows_per_tile rows and cols_per_tile physical columns, differential
weight digits of weight_slice_bits bits (two cells per digit), bit-serial inputs of input_slice_bits
bits per read (or one DAC read), two sign passes for signed inputs (x+ then x-).

Fault injection for tests (--fault KIND --fault-on hello|program|multiply [--fault-after N]): at the
(N+1)-th message of that kind the server
  crash    exits with status 3 without replying       stall    sleeps forever
  short    sends half a frame and exits               version  replies with protocol version 99
  count    replies with half of the values            garbage  writes 64 random bytes, no frame
  error    replies ERROR "injected fault"             huge     announces a 4 GB payload
  type     replies with message type 77               geometry (program) reports one weight slice too many
Diagnostics go to stderr; stdout carries the protocol only.
"""
import argparse
import json
import os
import socket
import struct
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.exit("chip_server.py: needs numpy (Debian: apt-get install python3-numpy; run with /usr/bin/python3)")

MAGIC = 0x584D4943  # the bytes "CIMX"
VERSION = 1
HELLO, HELLO_REPLY, PROGRAM, PROGRAMMED, MULTIPLY, READS, RESULTS, ERROR, CLOSE = range(1, 10)
NAMES = {HELLO: "hello", PROGRAM: "program", MULTIPLY: "multiply"}
HEADER = struct.Struct("<IHHI")
MAX_PAYLOAD = 1 << 30


class Closed(Exception):
    """The client closed the stream at a frame boundary."""


# ---- framing ----

class Stream:
    """Whole frames over two file descriptors (stdin/stdout, or one socket twice)."""

    def __init__(self, fd_in, fd_out):
        self.fd_in, self.fd_out = fd_in, fd_out

    def read_exact(self, n, at_boundary=False):
        chunks, got = [], 0
        while got < n:
            b = os.read(self.fd_in, min(n - got, 1 << 20))
            if not b:
                if at_boundary and got == 0:
                    raise Closed()
                raise IOError("the client closed the stream inside a frame")
            chunks.append(b)
            got += len(b)
        return b"".join(chunks)

    def write_all(self, data):
        view = memoryview(data)
        while len(view):
            view = view[os.write(self.fd_out, view):]

    def receive(self):
        """Returns (type, fields dict, array bytes)."""
        magic, version, kind, size = HEADER.unpack(self.read_exact(HEADER.size, at_boundary=True))
        if magic != MAGIC or version != VERSION:
            raise IOError("bad frame header (magic 0x%x, version %d)" % (magic, version))
        if size > MAX_PAYLOAD:
            raise IOError("payload of %d bytes is too large" % size)
        payload = self.read_exact(size)
        (json_bytes,) = struct.unpack_from("<I", payload)
        fields = json.loads(payload[4:4 + json_bytes].decode("utf-8"))
        return kind, fields, payload[4 + json_bytes:]

    @staticmethod
    def frame(kind, fields, array=b"", version=VERSION):
        text = json.dumps(fields).encode("utf-8")
        payload = struct.pack("<I", len(text)) + text + bytes(array)
        return HEADER.pack(MAGIC, version, kind, len(payload)) + payload

    def send(self, kind, fields, array=b""):
        self.write_all(self.frame(kind, fields, array))


def round_half_away(q):
    return np.sign(q) * np.floor(np.abs(q) + 0.5)


# ---- the device: replace this class for a real chip ----

class Layer:
    """One programmed layer: its weight digits (as the device holds them) and its readout geometry."""


class Device:
    def __init__(self, cfg):
        self.cfg = cfg
        self.layers = {}

    def name(self):
        return cfg_name(self.cfg)

    def program(self, f, w):
        """f: the PROGRAM fields; w: int16 weights [N, K]. Returns the PROGRAMMED fields and lsb array."""
        c = self.cfg
        N, K, wb, x_min, x_max = f["N"], f["K"], f["weight_bits"], f["x_min"], f["x_max"]
        if N < 1 or K < 1 or not 2 <= wb <= 16 or x_min > x_max:
            raise ValueError("bad layer shape or ranges: N %d, K %d, weight_bits %d, x [%d, %d]" % (N, K, wb, x_min, x_max))
        w_max = (1 << (wb - 1)) - 1
        if w.size and np.abs(w.astype(np.int32)).max() > w_max:
            raise ValueError("a weight code is outside +-%d" % w_max)
        L = Layer()
        L.N, L.K, L.w = N, K, w.astype(np.int64)
        mag_bits = wb - 1                                   # differential: |w| is sliced
        L.c = min(c["weight_slice_bits"], mag_bits)
        L.S = -(-mag_bits // L.c)
        L.rows = c["rows_per_tile"]
        L.tile_rows = -(-K // L.rows)
        L.outs_per_tile = c["cols_per_tile"] // (2 * L.S)
        if L.outs_per_tile < 1:
            raise ValueError("cols_per_tile %d cannot hold one output of %d weight slices" % (c["cols_per_tile"], L.S))
        x_mag = max(x_max, -x_min, 1)
        in_bits = int(x_mag).bit_length()
        L.passes = 2 if x_min < 0 else 1
        if c["input_mode"] == "dac":
            L.b, L.T, L.x_slice_max = in_bits, 1, x_mag
        else:
            L.b = c["input_slice_bits"]
            L.T = -(-in_bits // L.b)
            L.x_slice_max = min((1 << L.b) - 1, x_mag)
        # Signed digits d[s, o, k] = sign(w)·((|w| >> s·c) & (2^c − 1)).
        a = np.abs(L.w)
        L.digits = np.stack([np.sign(L.w) * ((a >> (s * L.c)) & ((1 << L.c) - 1)) for s in range(L.S)]).astype(np.float64)
        d_max = [min((1 << L.c) - 1, w_max >> (s * L.c)) for s in range(L.S)]
        # Nominal full scale R per (tile row, slice): the largest |column sum| of an ideal column.
        R = np.empty((L.tile_rows, L.S))
        for tr in range(L.tile_rows):
            rows = min(L.rows, K - tr * L.rows)
            for s in range(L.S):
                R[tr, s] = max(rows * L.x_slice_max * d_max[s], 1)
        L.R = R
        if c["device"] == "ideal":
            L.adc_bits = int(R.max()).bit_length() + 1      # signed codes up to ±R exactly
            if L.adc_bits > 31:
                raise ValueError("a column sum of up to %d does not fit 31-bit ADC codes" % int(R.max()))
            L.lsb = np.ones((L.tile_rows, L.S, N))
            L.cells = L.digits
        else:
            L.adc_bits = c["adc_bits"]
            L.lsb = np.repeat((R / 2.0 ** (L.adc_bits - 1))[:, :, None], N, axis=2)
            rng = np.random.Generator(np.random.PCG64([c["program_seed"], f["layer_id"]]))
            sigma = c["program_sigma"] * ((1 << L.c) - 1)
            L.cells = L.digits + sigma * rng.standard_normal(L.digits.shape)
        self.layers[f["layer_id"]] = L
        fields = {"layer_id": f["layer_id"], "mapping": "differential", "rows_per_tile": L.rows,
                  "tile_rows": L.tile_rows, "outputs_per_tile": L.outs_per_tile, "weight_slice_bits": L.c,
                  "weight_slices": L.S, "input_mode": c["input_mode"], "input_slice_bits": L.b,
                  "input_slices": L.T, "sign_passes": L.passes, "adc_bits": L.adc_bits}
        return fields, L.lsb.astype("<f8").tobytes()

    def layer(self, layer_id):
        if layer_id not in self.layers:
            raise ValueError("layer_id %d was never programmed" % layer_id)
        return self.layers[layer_id]

    def input_slices(self, L, x, dtype):
        """x int [K, n] -> [K, passes·T·n]: the input slices of every (pass, slice), side by side."""
        out = []
        for p in range(L.passes):
            xpm = np.maximum(x if p == 0 else -x, 0)
            for t in range(L.T):
                xt = xpm if self.cfg["input_mode"] == "dac" else (xpm >> (t * L.b)) & ((1 << L.b) - 1)
                out.append(xt.astype(dtype))
        return np.concatenate(out, axis=1)

    def reads(self, L, x, seed):
        """ADC codes int32 [n, passes, T, tile_rows, S, N] of x int [K, n]."""
        n = x.shape[1]
        # The ideal device's column sums are integers below 2^24: exact in float32, and its ADC is exact.
        ideal = self.cfg["device"] == "ideal" and L.R.max() < 2 ** 24
        dtype = np.float32 if ideal else np.float64
        X = self.input_slices(L, x, dtype)
        v = np.empty((L.tile_rows, L.S, L.N, L.passes * L.T * n), dtype=dtype)
        for tr in range(L.tile_rows):
            r0, r1 = tr * L.rows, min(L.K, (tr + 1) * L.rows)
            for s in range(L.S):
                np.matmul(L.cells[s, :, r0:r1].astype(dtype), X[r0:r1, :], out=v[tr, s])
        # [tile_rows, S, N, P, T, n] -> the READS order [n, P, T, tile_rows, S, N]
        v = np.ascontiguousarray(v.reshape(L.tile_rows, L.S, L.N, L.passes, L.T, n).transpose(5, 3, 4, 0, 1, 2))
        if ideal:
            return v.astype("<i4")
        if self.cfg["device"] == "noisy":
            rng = np.random.Generator(np.random.PCG64(seed))
            v += self.cfg["read_sigma"] * L.R[None, None, None, :, :, None] * rng.standard_normal(v.shape)
        half = 2.0 ** (L.adc_bits - 1)
        codes = np.clip(round_half_away(v / L.lsb[None, None, None]), -half, half - 1)
        return codes.astype("<i4")

    def results(self, L, x, seed):
        """y int32 [N, n]: exact for the ideal device, else the shift-and-add of this device's reads."""
        if self.cfg["device"] == "ideal":
            y = L.w.astype(np.float64) @ x.astype(np.float64)
        else:
            codes = self.reads(L, x, seed).astype(np.float64) * L.lsb[None, None, None]
            y = np.zeros((L.N, x.shape[1]))
            for p in range(L.passes):
                for t in range(L.T):
                    for s in range(L.S):
                        scale = (-1.0 if p else 1.0) * 2.0 ** (s * L.c + t * L.b)
                        y += scale * codes[:, p, t, :, s, :].sum(axis=1).T
        return np.clip(round_half_away(y), -2**31, 2**31 - 1).astype("<i4")


def cfg_name(cfg):
    return "chip_server.py %s device" % cfg["device"]


# ---- one function per message ----

class Server:
    def __init__(self, cfg, stream):
        self.cfg, self.stream = cfg, stream
        self.device = Device(cfg)
        self.seen = {"hello": 0, "program": 0, "multiply": 0}

    def on_hello(self, f, _array):
        options = f.get("options", {})
        for key, value in options.items():
            if key not in self.cfg:
                raise ValueError("unknown option \"%s\"" % key)
            self.cfg[key] = value
        caps = [k for k in self.cfg["capabilities"].split(",") if k]
        return HELLO_REPLY, {"protocol": VERSION, "device": cfg_name(self.cfg), "capabilities": caps}, b""

    def on_program(self, f, array):
        w = np.frombuffer(array, dtype="<i2")
        if w.size != f["N"] * f["K"]:
            raise ValueError("PROGRAM carries %d weights, N*K = %d" % (w.size, f["N"] * f["K"]))
        fields, lsb = self.device.program(f, w.reshape(f["N"], f["K"]))
        return PROGRAMMED, fields, lsb

    def on_multiply(self, f, array):
        L = self.device.layer(f["layer_id"])
        n = f["n"]
        x = np.frombuffer(array, dtype="<i2")
        if x.size != L.K * n:
            raise ValueError("MULTIPLY carries %d codes, K*n = %d" % (x.size, L.K * n))
        x = x.reshape(n, L.K).T.astype(np.int64)            # column-major [K, n] on the wire
        if f["result"] == "reads":
            return READS, {"layer_id": f["layer_id"], "n": n}, self.device.reads(L, x, f["seed"]).tobytes()
        if f["result"] == "results":
            return RESULTS, {"layer_id": f["layer_id"], "n": n}, self.device.results(L, x, f["seed"]).tobytes()
        raise ValueError("unknown result kind \"%s\"" % f["result"])

    def inject(self, kind, reply):
        """Applies the configured fault when `kind` is its trigger; returns True if the reply was handled."""
        fault = self.cfg["fault"]
        if fault == "none" or NAMES.get(kind) != self.cfg["fault_on"]:
            return False
        self.seen[NAMES[kind]] += 1
        if self.seen[NAMES[kind]] != self.cfg["fault_after"] + 1:
            return False
        rtype, fields, array = reply
        frame = Stream.frame(rtype, fields, array)
        if fault == "crash":
            os._exit(3)
        if fault == "stall":
            while True:
                time.sleep(3600)
        if fault == "short":
            self.stream.write_all(frame[:HEADER.size + (len(frame) - HEADER.size) // 2])
            os._exit(0)
        if fault == "version":
            self.stream.write_all(Stream.frame(rtype, fields, array, version=99))
        elif fault == "count":
            size = 8 if rtype == PROGRAMMED else 4             # float64 lsb, else int32 values
            half = (len(array) // size // 2) * size
            self.stream.write_all(Stream.frame(rtype, fields, array[:half]))
        elif fault == "garbage":
            self.stream.write_all(np.random.Generator(np.random.PCG64(7)).bytes(64))
        elif fault == "error":
            self.stream.send(ERROR, {"message": "injected fault"})
        elif fault == "huge":
            self.stream.write_all(HEADER.pack(MAGIC, VERSION, rtype, 0xFFFFFF00))
        elif fault == "type":
            self.stream.write_all(Stream.frame(77, fields, array))
        elif fault == "geometry" and rtype == PROGRAMMED:
            self.stream.send(rtype, dict(fields, weight_slices=fields["weight_slices"] + 1), array)
        else:
            raise ValueError("unknown fault \"%s\"" % fault)
        return True

    def serve(self):
        handlers = {HELLO: self.on_hello, PROGRAM: self.on_program, MULTIPLY: self.on_multiply}
        while True:
            try:
                kind, fields, array = self.stream.receive()
            except (Closed, ConnectionResetError):            # the client went away: not an error
                return
            if kind == CLOSE:
                return
            try:
                if kind not in handlers:
                    raise ValueError("unexpected message type %d" % kind)
                reply = handlers[kind](fields, array)
            except (ValueError, KeyError, TypeError) as e:
                self.stream.send(ERROR, {"message": "%s: %s" % (type(e).__name__, e)})
                continue
            if not self.inject(kind, reply):
                self.stream.send(*reply)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["ideal", "noisy"], default="ideal")
    p.add_argument("--rows-per-tile", type=int, default=128)
    p.add_argument("--cols-per-tile", type=int, default=128)
    p.add_argument("--weight-slice-bits", type=int, default=4)
    p.add_argument("--input-mode", choices=["bit_serial", "dac"], default="bit_serial")
    p.add_argument("--input-slice-bits", type=int, default=1)
    p.add_argument("--adc-bits", type=int, default=8, help="noisy device only; the ideal ADC is exact")
    p.add_argument("--program-sigma", type=float, default=0.02, help="noisy: sigma in digit ranges")
    p.add_argument("--read-sigma", type=float, default=0.002, help="noisy: sigma as a fraction of full scale")
    p.add_argument("--program-seed", type=int, default=0)
    p.add_argument("--capabilities", default="reads,results", help="comma-separated: reads, results")
    p.add_argument("--fault", default="none",
                   choices=["none", "crash", "stall", "short", "version", "count", "garbage", "error", "huge", "type",
                            "geometry"])
    p.add_argument("--fault-on", choices=["hello", "program", "multiply"], default="multiply")
    p.add_argument("--fault-after", type=int, default=0, help="messages of that kind served normally first")
    p.add_argument("--listen", metavar="PATH", help="serve clients on this Unix socket instead of stdin/stdout")
    p.add_argument("--once", action="store_true", help="with --listen: exit after the first client")
    return vars(p.parse_args(argv))


def main(argv):
    cfg = parse_args(argv)
    listen, once = cfg.pop("listen"), cfg.pop("once")
    if listen is None:
        Server(cfg, Stream(0, 1)).serve()
        return 0
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Bind and listen under a temporary name, then rename: the path appears only once it accepts
    # connections (a client that waits for the path never meets a bound but not yet listening socket).
    staging = "%s.%d.tmp" % (listen, os.getpid())
    if os.path.exists(staging):
        os.unlink(staging)
    sock.bind(staging)
    sock.listen(1)
    os.replace(staging, listen)
    while True:
        conn, _ = sock.accept()
        with conn:
            try:
                Server(dict(cfg), Stream(conn.fileno(), conn.fileno())).serve()
            except (IOError, OSError) as e:
                print("chip_server.py: %s" % e, file=sys.stderr)
        if once:
            return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except IOError as e:
        print("chip_server.py: %s" % e, file=sys.stderr)
        sys.exit(2)
