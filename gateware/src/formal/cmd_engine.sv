// Properties of CmdEngine (gateware/src/hostif/cmd_engine.rs), bound into
// its generated Verilog by gateware/src/formal/cmd_engine.rs.
//
// The shadow model is a receiver of the protocol of
// gateware/spec/src/proto.rs written from the spec's frame layout
// (`proto_rx` below: sync bytes, 8 header field bytes, header check, WRITE
// payload, payload check). One copy reads the request bytes going in, one
// the reply bytes coming out (on valid_out and ready_in), the latter for
// framing only (CHECK = 0).
//
// The CRC-32 arithmetic is not re-proved here (Crc32Byte is tested against
// the spec's CRC in its own tests, and an SMT solver cannot invert CRC-32
// over a header in reasonable time): the proof replaces the engine's two
// CRC units by free values (yosys `cutpoint`), and the request shadow takes
// its CRC values from the engine's receive unit. So the properties hold
// whatever the CRC function is: they check that the engine compares the
// check bytes it receives with the CRC it computed, and acts only on
// frames where both agree.
//
// Environment (assumed): request bytes arrive only while the engine's
// executor is idle with no frame pending, i.e. the host waits for each
// reply, as the protocol's host does; the timeout is longer than the
// bound. Everything else is free: bytes, gaps, ready_in, bus status and
// read data.
//
// The contract (asserted):
//  * the bus is written only while a WRITE request whose header and payload
//    checks were good is being executed, and only inside its burst
//    (addr <= bus_addr < addr + len);
//  * never two answers to one request: replies started never outnumber the
//    good requests received, a reply is never started without one, and
//    every reply carries the sequence number of the last good request.
module proto_rx #(
    parameter [7:0] SYNC1 = 8'h3c,
    parameter REQUEST = 1,
    parameter CHECK = 1
) (
    input clock,
    input valid,
    input [7:0] b,
    // The CRC register after this clock's byte, from the engine's CRC unit.
    input [31:0] unit,
    // This clock's byte completes a frame with good checks.
    output done_good,
    // This clock's byte ends a frame whose header or payload check failed.
    output done_bad,
    // This clock's byte is a SYNC0 seen while hunting (a frame may start).
    output sync_seen,
    // Header fields of the frame completing now (valid with done_good).
    output [7:0] seq,
    output [7:0] code,
    output [31:0] addr,
    output [15:0] len
);
    localparam HUNT = 0, S1 = 1, HDR = 2, PAY = 3, PCRC = 4;
    reg [2:0] st = HUNT;
    reg [13:0] n = 0;       // bytes of the current section so far
    reg [63:0] f = 0;       // header field bytes, first in bits 7:0
    reg [31:0] crc = 0;     // CRC register after the covered bytes
    reg [31:0] chk = 0;     // check bytes received, first in bits 7:0
    reg [13:0] need = 0;    // payload bytes

    // The 8 field bytes including this one (when it is the 8th).
    wire [63:0] f_n = {b, f[63:8]};
    // The check as received, with this byte as its last.
    wire [31:0] chk_n = {b, chk[31:8]};
    wire [15:0] len_f = f[63:48];
    wire has_payload = (REQUEST ? (f[15:8] == 8'h02) : 1'b1)
        && (len_f != 0) && (len_f <= 16'd1024);
    wire hdr_end = valid && st == HDR && n == 11;
    wire hdr_ok = !CHECK || (chk_n == ~crc);
    wire pay_end = valid && st == PCRC && n == 3;
    wire pay_ok = !CHECK || (chk_n == ~crc);

    assign done_good = (hdr_end && hdr_ok && !has_payload) || (pay_end && pay_ok);
    assign done_bad = (hdr_end && !hdr_ok) || (pay_end && !pay_ok);
    assign sync_seen = valid && st == HUNT && b == 8'hf1;
    assign seq = f[7:0];
    assign code = f[15:8];
    assign addr = f[47:16];
    assign len = f[63:48];

    always @(posedge clock) if (valid) begin
        case (st)
            HUNT: if (b == 8'hf1) st <= S1;
            S1: begin
                if (b == SYNC1) begin
                    st <= HDR;
                    n <= 0;
                end else if (b != 8'hf1) st <= HUNT;
            end
            HDR: begin
                n <= n + 1;
                if (n < 8) begin
                    f <= f_n;
                    if (n == 7) crc <= unit;
                end else begin
                    chk <= chk_n;
                    if (n == 11) begin
                        if (!hdr_ok || !has_payload) st <= HUNT;
                        else begin
                            st <= PAY;
                            n <= 0;
                            need <= {len_f[11:0], 2'b00};
                        end
                    end
                end
            end
            PAY: begin
                n <= n + 1;
                if (n == need - 1) begin
                    crc <= unit;
                    st <= PCRC;
                    n <= 0;
                end
            end
            PCRC: begin
                chk <= chk_n;
                n <= n + 1;
                if (n == 3) st <= HUNT;
            end
            default: st <= HUNT;
        endcase
    end
endmodule

module cmd_engine_props (
    input clock,
    input [7:0] data_in,
    input valid_in,
    input [7:0] data_out,
    input valid_out,
    input ready_in,
    input [31:0] bus_addr,
    input bus_we,
    input [3:0] ex_state,
    input pending,
    input [31:0] rx_unit
);
    // ---- environment: the host waits for each reply ----
    always @* if (valid_in) assume (ex_state == 0 && !pending);

    // ---- requests in ----
    wire q_good, q_bad, q_sync;
    wire [7:0] q_seq, q_code;
    wire [31:0] q_addr;
    wire [15:0] q_len;
    proto_rx #(.SYNC1(8'h3c), .REQUEST(1), .CHECK(1)) rx_req (
        .clock(clock), .valid(valid_in), .b(data_in), .unit(rx_unit),
        .done_good(q_good), .done_bad(q_bad), .sync_seen(q_sync),
        .seq(q_seq), .code(q_code), .addr(q_addr), .len(q_len)
    );
    // ---- replies out ----
    wire r_good, r_bad, r_sync;
    wire [7:0] r_seq, r_code;
    wire [31:0] r_addr;
    wire [15:0] r_len;
    proto_rx #(.SYNC1(8'hc3), .REQUEST(0), .CHECK(0)) rx_rep (
        .clock(clock), .valid(valid_out && ready_in), .b(data_out), .unit(32'd0),
        .done_good(r_good), .done_bad(r_bad), .sync_seen(r_sync),
        .seq(r_seq), .code(r_code), .addr(r_addr), .len(r_len)
    );

    // The last request frame to end: good or not, and its fields.
    reg last_good = 0;
    reg [7:0] last_seq = 0, last_code = 0;
    reg [31:0] last_addr = 0;
    reg [15:0] last_len = 0;
    reg [7:0] requests = 0;  // good requests received
    reg [7:0] replies = 0;   // replies started
    always @(posedge clock) begin
        if (q_good) begin
            last_good <= 1;
            last_seq <= q_seq;
            last_code <= q_code;
            last_addr <= q_addr;
            last_len <= q_len;
            requests <= requests + 1;
        end
        if (q_bad) last_good <= 0;
        if (r_sync) replies <= replies + 1;
    end

    always @* begin
        if (bus_we) begin
            assert (last_good && last_code == 8'h02);
            assert (bus_addr - last_addr < {16'd0, last_len});
        end
        assert (replies <= requests);
        if (r_sync) assert (replies < requests);
        if (r_good) assert (r_seq == last_seq);
    end
endmodule
