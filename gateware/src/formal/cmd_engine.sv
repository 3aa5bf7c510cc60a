// Properties of CmdEngine (gateware/src/hostif/cmd_engine.rs), bound into
// its generated Verilog by gateware/src/formal/cmd_engine.rs.
//
// The shadow receiver (`rx_*` below) reads the request bytes with the
// protocol of gateware/spec/src/proto.rs, written from the spec's frame
// layout, not from the engine: SYNC0 SYNC1, 8 header field bytes (seq,
// code, addr LE, len LE), 4 header check bytes, then for a WRITE with
// 1 <= len <= 1024 its 4 len payload bytes and 4 payload check bytes. A
// check is the complement of the CRC-32 register over its section, sent
// little-endian. A byte arriving more than T clocks after the previous one
// (the engine's partial-frame timeout) starts over in the hunt.
//
// The CRC-32 arithmetic is not re-proved here (Crc32Byte is tested against
// the spec's CRC in its own tests, and a solver cannot invert CRC-32): the
// proof replaces the engine's CRC units by free values (yosys `cutpoint`),
// and the shadow takes the CRC register of a section from the engine's
// receive unit after the section's last byte (`unit`). So the properties
// hold whatever the CRC function is: the engine compares the check bytes
// it receives with the CRC it computed, and acts only on frames where all
// of them agree. The payload RAM and the address check are free values
// too (the properties do not depend on them).
//
// Environment (assumed): request bytes arrive only while the executor is
// idle with no checked frame waiting, i.e. the host waits for each reply,
// as the protocol's host does (the engine's documentation requires it).
// Everything else is free: bytes, gaps, reply `ready`, bus status and data.
//
// The contract (asserted):
//  * the bus is written only while a request is executed whose frame was
//    the last to end and passed its header and payload checks, which is a
//    WRITE, and only inside its burst (addr <= bus_addr < addr + len);
//  * every reply answers one good request, and no request is answered
//    twice: a reply byte goes out only while the last good request is
//    unanswered, and a reply frame (its length read from its own header)
//    ends its request's turn.
//
// HELPERS: the invariants k-induction needs, relating the shadow to the
// engine's registers (the receiver's state, counters, fields and CRC, the
// executor's copy of the request and its burst position, and the reply's
// byte position). Mutants are checked without them, from power-up.
module cmd_engine_props #(
    parameter T = 5
) (
    input clock,
    input [7:0] data_in,
    input valid_in,
    input [7:0] data_out,
    input valid_out,
    input ready_in,
    input [31:0] bus_addr,
    input bus_we,
    input [31:0] rx_unit,
    // Engine registers (for the environment assumption and the helpers).
    input [3:0] ex_state,
    input pending,
    input [2:0] e_rx_state,
    input [12:0] e_rx_count,
    input [12:0] e_rx_need,
    input [31:0] e_rx_crc,
    input e_rx_ok,
    input [63:0] e_hdr,
    input [31:0] e_silence,
    input e_quiet,
    input [7:0] e_code,
    input [31:0] e_addr,
    input [15:0] e_len,
    input [15:0] e_lenm1,
    input [31:0] e_ptr,
    input [15:0] e_cnt,
    input [15:0] e_rep_len,
    input [7:0] e_rep_status,
    input [3:0] e_out_idx,
    input [1:0] e_byte_i,
    input [63:0] e_out_sr
);
    // Executor states (ExecState, in declaration order).
    localparam IDLE = 0, DECODE = 1, CHECK = 2, WR_READ = 3, WR_LOAD = 4, WR_BUS = 5,
        WR_ACK = 6, HDR_LOAD = 7, HDR_OUT = 8, RD_REQ = 9, RD_ACK = 10, RAM_RD = 11,
        RD_LOAD = 12, RD_BYTES = 13, CRC_OUT = 14, DONE = 15;

    // ---- environment: the host waits for each reply ----
    always @* if (valid_in) assume (ex_state == IDLE && !pending);

`ifdef SCRIPT
    // For mutants whose counterexample is long: from power-up the host sends
    // one given frame (SCRIPT 1: a header-only request with an unknown
    // command; SCRIPT 2: a one-word WRITE whose payload check is wrong;
    // SCRIPT 3: SCRIPT 1 with a wrong header check), the
    // CRC units read 0 (so a good check is FF FF FF FF) and every reply byte
    // is taken at once. Assumptions only narrow the runs: a counterexample
    // found so is one of the proof's.
    reg [5:0] t = 0;
    always @(posedge clock) if (t != 63) t <= t + 1;
    reg [7:0] script_byte;
    always @* begin
        case (t)
            0: script_byte = 8'hf1;
            1: script_byte = 8'h3c;
            2: script_byte = 8'h01;
            3: script_byte = (`SCRIPT == 2) ? 8'h02 : 8'h07;
            4: script_byte = 8'h10;
            8: script_byte = (`SCRIPT == 2) ? 8'h01 : 8'h00;
            10, 11, 12: script_byte = 8'hff;
            13: script_byte = (`SCRIPT == 3) ? 8'h00 : 8'hff;
            14: script_byte = 8'h11;
            15: script_byte = 8'h22;
            16: script_byte = 8'h33;
            17: script_byte = 8'h44;
            default: script_byte = 8'h00;
        endcase
    end
    always @* begin
        assume (rx_unit == 0 && ready_in);
        assume (valid_in == (t < ((`SCRIPT == 2) ? 22 : 14)));
        if (valid_in) assume (data_in == script_byte);
    end
`endif

    // ---- the shadow receiver ----
    localparam HUNT = 0, S1 = 1, HDR = 2, PAY = 3, PCRC = 4;
    reg [2:0] st = HUNT;
    reg [12:0] n = 0;       // bytes of the current section so far
    reg [63:0] f = 0;       // header field bytes, first in bits 7:0
    reg [31:0] crc = 0;     // CRC register after the section's last byte
    reg ok = 0;             // check bytes so far agree
    reg [12:0] need = 0;    // payload bytes
    reg [31:0] sil = 0;     // clocks since the last byte, saturating at T

    wire timed_out = (st != HUNT) && (sil >= T);
    wire [2:0] cur = timed_out ? HUNT : st;
    wire [15:0] len_f = f[63:48];
    wire is_write = (f[15:8] == 8'h02);
    wire has_payload = is_write && (len_f != 0) && (len_f <= 16'd1024);
    // The expected check byte at this position: byte (n - 8) of ~crc in a
    // header, byte n in the payload check.
    wire [31:0] ncrc = ~crc;
    wire [1:0] ci = n[1:0];
    wire [7:0] want = (ci == 0) ? ncrc[7:0] : (ci == 1) ? ncrc[15:8]
        : (ci == 2) ? ncrc[23:16] : ncrc[31:24];
    wire byte_ok = (data_in == want);
    wire hdr_end = valid_in && cur == HDR && n == 11;
    wire pay_end = valid_in && cur == PCRC && n == 3;
    // This clock's byte completes a frame with good checks / a bad one.
    wire q_good = (hdr_end && ok && byte_ok && !has_payload) || (pay_end && ok && byte_ok);
    wire q_bad = (hdr_end || pay_end) && !(ok && byte_ok);

    always @(posedge clock) begin
        if (valid_in) sil <= 0;
        else if (sil < T) sil <= sil + 1;
        st <= cur;
        if (valid_in) begin
            case (cur)
                HUNT: if (data_in == 8'hf1) st <= S1;
                S1: begin
                    if (data_in == 8'h3c) begin
                        st <= HDR;
                        n <= 0;
                        ok <= 1;
                    end else if (data_in != 8'hf1) st <= HUNT;
                end
                HDR: begin
                    n <= n + 1;
                    if (n < 8) begin
                        f <= {data_in, f[63:8]};
                        if (n == 7) crc <= rx_unit;
                    end else begin
                        ok <= ok && byte_ok;
                        if (n == 11) begin
                            if (!(ok && byte_ok) || !has_payload) st <= HUNT;
                            else begin
                                st <= PAY;
                                n <= 0;
                                need <= {len_f[10:0], 2'b00};
                                ok <= 1;
                            end
                        end
                    end
                end
                PAY: begin
                    n <= n + 1;
                    if (n == need - 1) begin
                        crc <= rx_unit;
                        st <= PCRC;
                        n <= 0;
                    end
                end
                PCRC: begin
                    ok <= ok && byte_ok;
                    n <= n + 1;
                    if (n == 3) st <= HUNT;
                end
                default: st <= HUNT;
            endcase
        end
    end

    // ---- the last request frame to end, and whether it is answered ----
    reg lg = 0;              // it passed its checks
    reg [7:0] l_code = 0;
    reg [31:0] l_addr = 0;
    reg [15:0] l_len = 0;
    reg owed = 0;            // a good request not yet answered
    always @(posedge clock) begin
        if (q_good) begin
            lg <= 1;
            l_code <= f[15:8];
            l_addr <= f[47:16];
            l_len <= f[63:48];
        end
        if (q_bad) lg <= 0;
    end

    // ---- the reply frames going out ----
    // r_n: bytes of the current reply sent; a reply is 14 header bytes
    // (sync, seq, status, addr, len, check), then, with 1 <= len <= 1024,
    // 4 len payload bytes and 4 check bytes.
    reg [12:0] r_n = 0;
    reg [15:0] r_len = 0;    // its len field (bytes 8 and 9)
    wire r_take = valid_out && ready_in;
    wire r_pay = (r_len != 0) && (r_len <= 16'd1024);
    wire [12:0] r_total = r_pay ? (13'd18 + {r_len[10:0], 2'b00}) : 13'd14;
    wire r_last = r_take && (r_n >= 13) && (r_n == r_total - 1);
    always @(posedge clock) begin
        if (r_take) begin
            r_n <= r_last ? 13'd0 : r_n + 1;
            if (r_n == 8) r_len[7:0] <= data_out;
            if (r_n == 9) r_len[15:8] <= data_out;
        end
        if (q_good) owed <= 1;
        else if (r_last) owed <= 0;
    end

    // ---- the contract ----
    always @* begin
        if (bus_we) begin
            assert (lg && l_code == 8'h02);
            assert (bus_addr - l_addr < {16'd0, l_len});
        end
        // A reply byte only for an unanswered good request.
        if (r_take) assert (owed);
    end

`ifdef HELPERS
    wire exec = (ex_state != IDLE);
    // The reply header's len field in the output shift register: header
    // byte k (2 <= k <= 9) goes out as out_sr[7:0] at out_idx = k.
    wire [3:0] shifted = (e_out_idx < 2) ? 4'd0 : e_out_idx - 4'd2;
    wire [63:0] sr_aligned = e_out_sr << {shifted, 3'b000};
    always @* begin
        // Receiver: the shadow is the engine's receiver.
        assert (e_rx_state <= 4);
        assert (st == e_rx_state);
        assert (sil == e_silence);
        assert (sil <= T);
        assert (e_quiet == (sil >= T));
        assert (f == e_hdr);
        if (st == HDR) assert (n <= 11 && n == e_rx_count);
        if (st == HDR && n < 8) assert (ok && e_rx_ok);
        if (st == HDR && n >= 8) assert (ok == e_rx_ok
            && e_rx_crc == (crc >> {n[1:0], 3'b000}));
        if (st == PAY || st == PCRC) assert (has_payload && need == {len_f[10:0], 2'b00}
            && need == e_rx_need);
        if (st == PAY) assert (n < need && n == e_rx_count && ok && e_rx_ok);
        if (st == PCRC) assert (n <= 3 && n == e_rx_count && ok == e_rx_ok
            && e_rx_crc == (crc >> {n[1:0], 3'b000}));
        // A frame is received only between requests.
        if (st != HUNT) assert (!exec && !pending && !owed);
        // Executor: it holds the last good frame.
        assert (ex_state <= DONE);
        if (pending) assert (!exec && lg && owed && st == HUNT && r_n == 0
            && e_hdr[15:8] == l_code && e_hdr[47:16] == l_addr && e_hdr[63:48] == l_len);
        if (!exec && !pending) assert (!owed && r_n == 0);
        if (exec) assert (lg && e_code == l_code && e_addr == l_addr && e_len == l_len);
        if ((exec && ex_state <= HDR_LOAD) || ex_state == RD_REQ || ex_state == RD_ACK)
            assert (owed && r_n == 0);
        if (ex_state == CHECK || ex_state == WR_READ || ex_state == WR_LOAD
            || ex_state == WR_BUS || ex_state == WR_ACK)
            assert (e_len != 0 && e_len <= 16'd1024 && e_lenm1 == e_len - 1
                && e_cnt <= e_lenm1 && e_ptr == e_addr + {16'd0, e_cnt} && e_rep_len == 0);
        if (ex_state == WR_READ || ex_state == WR_LOAD || ex_state == WR_BUS
            || ex_state == WR_ACK)
            assert (e_code == 8'h02);
        if (ex_state == RD_REQ || ex_state == RD_ACK)
            assert (e_lenm1 < 16'd1024 && e_cnt <= e_lenm1 && e_rep_len == 0);
        // Reply: the shadow's position is the engine's.
        if (ex_state == HDR_LOAD || ex_state == HDR_OUT || ex_state == RAM_RD
            || ex_state == RD_LOAD || ex_state == RD_BYTES || ex_state == CRC_OUT)
            assert (e_rep_len == 0 || (e_rep_len == e_lenm1 + 1 && e_lenm1 < 16'd1024));
        if (ex_state == HDR_OUT) begin
            assert (owed && r_n == e_out_idx && e_out_idx <= 13 && e_cnt == 0);
            if (e_out_idx <= 8) assert (sr_aligned[63:48] == e_rep_len);
            if (e_out_idx == 9) assert (e_out_sr[7:0] == e_rep_len[15:8]
                && r_len[7:0] == e_rep_len[7:0]);
            if (e_out_idx >= 10) assert (r_len == e_rep_len);
        end
        if (ex_state == RAM_RD || ex_state == RD_LOAD || ex_state == RD_BYTES)
            assert (owed && r_len == e_rep_len && e_rep_len != 0 && e_cnt <= e_lenm1
                && r_n == 13'd14 + {e_cnt, 2'b00} + ((ex_state == RD_BYTES) ? e_byte_i : 2'd0));
        if (ex_state == CRC_OUT)
            assert (owed && r_len == e_rep_len && e_rep_len != 0
                && r_n == 13'd14 + {e_rep_len, 2'b00} + e_byte_i);
        if (ex_state == DONE) assert (!owed && r_n == 0);
    end
`endif
endmodule
