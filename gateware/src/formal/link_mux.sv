// Properties of LinkMux (gateware/src/hostif/link_mux.rs), bound into its
// generated Verilog by gateware/src/formal/link_mux.rs.
//
// Everything around the block is free: both links' bytes, the engine's
// `idle_in`, its reply bytes, both transmitters' `ready`. A *frame*, as the
// engine sees it, is the run of bytes it receives from one clock where it
// is idle to the next: the engine leaves idle with the first byte of a
// frame and returns to idle only once the frame is answered.
//
// The contract (asserted):
//  * no interleaving: a byte that reaches the engine while it is busy comes
//    from the link the frame in progress came from;
//  * replies go only to the link the frame came from, with that link's
//    `ready`, never to both;
//  * nothing dropped silently, nothing invented: the engine's byte is the
//    byte of the link it is taken from; link B's byte is taken only when it
//    reaches the engine; link A's byte reaches the engine or is counted lost,
//    and is lost only while the engine is busy with a frame from link B.
module link_mux_props (
    input clock,
    input [7:0] a_data_in,
    input a_valid_in,
    input a_tx_valid_out,
    input a_tx_ready_in,
    input [7:0] b_data_in,
    input b_valid_in,
    input b_ready_out,
    input b_tx_valid_out,
    input b_tx_ready_in,
    input [7:0] data_out,
    input valid_out,
    input idle_in,
    input rep_valid_in,
    input rep_ready_out,
    input lost_out,
    input owner
);
    // The link of the frame in progress (or of the last one): 0 = A, 1 = B.
    reg frame_link = 0;
    wire from_b = b_ready_out;
    always @(posedge clock) if (valid_out) frame_link <= from_b;

    always @* begin
        // ---- the contract ----
        if (valid_out && !idle_in) assert (from_b == frame_link);
        if (a_tx_valid_out) assert (frame_link == 0);
        if (b_tx_valid_out) assert (frame_link == 1);
        assert (!(a_tx_valid_out && b_tx_valid_out));
        if (rep_valid_in) assert (a_tx_valid_out || b_tx_valid_out);
        assert (rep_ready_out == (frame_link ? b_tx_ready_in : a_tx_ready_in));
        if (valid_out) assert (data_out == (from_b ? b_data_in : a_data_in));
        if (b_ready_out) assert (b_valid_in && valid_out);
        if (valid_out && !from_b) assert (a_valid_in);
        if (a_valid_in) assert ((valid_out && !from_b) != lost_out);
        if (lost_out) assert (!idle_in && frame_link == 1);
`ifdef HELPERS
        // ---- helper ----
        assert (owner == frame_link);
`endif
    end
endmodule
