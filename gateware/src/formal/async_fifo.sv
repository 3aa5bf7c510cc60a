// Properties of AsyncFifo (gateware/src/hostif/async_fifo.rs), bound into
// its generated Verilog by gateware/src/formal/async_fifo.rs.
//
// Both clocks are free inputs (multiclock): any pattern of rising edges,
// coinciding ones included. The shadow model sees only the ports: it counts
// the bytes the FIFO accepted (write high, full low at a write edge) and
// handed out (read high, empty low at a read edge), and follows one byte at
// an arbitrary position `pick` of the stream.
//
// The contract (asserted):
//  * data: the byte handed out as the pick-th is the byte accepted as the
//    pick-th. As `pick` is arbitrary, every byte comes out once, unchanged,
//    in order: none lost, duplicated or reordered;
//  * counts: never more bytes out than in, never more than 64 stored;
//  * flags, conservative: `empty` low => a byte is stored; `full` low =>
//    a free entry; `almost_full` low => at most 55 stored;
//  * flags, exact: two read edges after the last accepted write, `empty`
//    is high exactly when nothing is stored; two write edges after the last
//    read, `full` and `almost_full` are exactly (stored == 64) and
//    (stored >= 56).
// The helper assertions (with HELPERS defined) tie the shadow model to the
// block's registers so that k-induction closes; they are proved like the
// rest.
module async_fifo_props (
    input write_clock,
    input read_clock,
    input [7:0] data_in,
    input write,
    input full,
    input almost_full,
    input [7:0] data_out,
    input read,
    input empty,
    input [6:0] wptr,
    input [6:0] wgray,
    input [6:0] rsync1,
    input [6:0] rsync2,
    input [6:0] rptr,
    input [6:0] rgray,
    input [6:0] wsync1,
    input [6:0] wsync2,
    // The RAM entry at address `tap_addr` (a read-only peek).
    output [5:0] tap_addr,
    input [7:0] tap_data
);
    // ---- shadow model: counts from the ports ----
    reg [7:0] n_in = 0;   // bytes accepted, mod 256
    reg [7:0] n_out = 0;  // bytes handed out, mod 256
    wire [7:0] stored = n_in - n_out;
    wire accept = write && !full;
    wire hand_out = read && !empty;
    always @(posedge write_clock) if (accept) n_in <= n_in + 8'd1;
    always @(posedge read_clock) if (hand_out) n_out <= n_out + 8'd1;

    // ---- one byte followed through ----
    (* anyconst *) reg [7:0] pick;
    reg [7:0] picked = 0;
    reg have = 0;
    always @(posedge write_clock)
        if (accept && n_in == pick) begin
            picked <= data_in;
            have <= 1;
        end
    assign tap_addr = pick[5:0];
    wire [7:0] pick_age = pick - n_out;  // 0 = the head
    wire pick_stored = pick_age < stored;

    // ---- edges since the last accepted write / the last hand-out ----
    // Counted on the global time step from the clocks' edges (a flop
    // clocked by an edge takes the values of the step before it, so do the
    // `_p` copies), as values of the current step like the block's
    // registers.
    (* gclk *) reg gclk;
    reg wclk_p = 0, rclk_p = 0, accept_p = 0, hand_out_p = 0;
    reg [1:0] r_since_in_q = 2;   // read edges since the last accepted write
    reg [1:0] w_since_out_q = 2;  // write edges since the last hand-out
    wire w_edge = write_clock && !wclk_p;
    wire r_edge = read_clock && !rclk_p;
    wire [1:0] r_since_in = (w_edge && accept_p) ? 2'd0
        : (r_edge && r_since_in_q != 2) ? r_since_in_q + 2'd1 : r_since_in_q;
    wire [1:0] w_since_out = (r_edge && hand_out_p) ? 2'd0
        : (w_edge && w_since_out_q != 2) ? w_since_out_q + 2'd1 : w_since_out_q;
    always @(posedge gclk) begin
        wclk_p <= write_clock;
        rclk_p <= read_clock;
        accept_p <= accept;
        hand_out_p <= hand_out;
        r_since_in_q <= r_since_in;
        w_since_out_q <= w_since_out;
    end

    // The binary pointers the synchronisers carry (shadow copies, from the
    // shadow counts: the same edges, the same sampling).
    reg [6:0] ws1_b = 0, ws2_b = 0, rs1_b = 0, rs2_b = 0;
    always @(posedge read_clock) begin
        ws1_b <= n_in[6:0];
        ws2_b <= ws1_b;
    end
    always @(posedge write_clock) begin
        rs1_b <= n_out[6:0];
        rs2_b <= rs1_b;
    end

    always @* begin
        if ($initstate) assume (!write_clock && !read_clock);
        // ---- the contract ----
        assert (stored <= 64);
        if (!empty) assert (stored >= 1);
        if (!full) assert (stored <= 63);
        if (!almost_full) assert (stored <= 55);
        if (r_since_in == 2) assert (empty == (stored == 0));
        if (w_since_out == 2) begin
            assert (full == (stored == 64));
            assert (almost_full == (stored >= 56));
        end
        if (!empty && n_out == pick) assert (have && data_out == picked);

`ifdef HELPERS
        // ---- helpers (tie the shadow to the registers) ----
        assert (wptr == n_in[6:0]);
        assert (rptr == n_out[6:0]);
        assert (wgray == (wptr ^ (wptr >> 1)));
        assert (rgray == (rptr ^ (rptr >> 1)));
        // The synchronisers hold the Gray codes of earlier pointers, in
        // order, within the stored bytes (read side) and so that the write
        // side never sees more than 64 stored.
        assert (wsync1 == (ws1_b ^ (ws1_b >> 1)));
        assert (wsync2 == (ws2_b ^ (ws2_b >> 1)));
        assert (rsync1 == (rs1_b ^ (rs1_b >> 1)));
        assert (rsync2 == (rs2_b ^ (rs2_b >> 1)));
        assert ({2'b0, wptr - ws1_b} + {2'b0, ws1_b - ws2_b} + {2'b0, ws2_b - rptr}
                == {1'b0, stored});
        assert ({2'b0, rptr - rs1_b} + {2'b0, rs1_b - rs2_b} + {1'b0, stored} <= 9'd64);
        if (r_since_in >= 1) assert (wsync1 == wgray);
        if (r_since_in == 2) assert (wsync2 == wgray);
        if (w_since_out >= 1) assert (rsync1 == rgray);
        if (w_since_out == 2) assert (rsync2 == rgray);
        // The followed byte sits in the RAM while stored; the head byte is
        // on data_out while the read side sees it.
        if (pick_stored) assert (have && tap_data == picked);
`endif
    end
endmodule
