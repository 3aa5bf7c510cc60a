// Properties of FrameSync (gateware/src/framing/frame_sync.rs), bound into
// its generated Verilog by gateware/src/formal/frame_sync.rs.
//
// The line is free: any data, control flags, error flags and `valid_in`
// pattern. A word that leaves at clock t entered at clock t - 2 (the
// block's latency, SYNC_LATENCY), so the shadow model keeps `valid_in` two
// clocks deep and knows, for every output word, whether its input word was
// valid.
//
// The contract (asserted):
//  * whole frames: `valid_out` words come as frames of exactly 128
//    consecutive words, `start_out` on the first only, `frame_done_out`
//    with the 128th only, `frame_error_out` only with `frame_done_out`;
//  * nothing truncated passes as complete: a frame word whose input word
//    was not valid (the aligner lost lock) is padding (zero, no symbol
//    count), the first such word of a frame pulses `truncated_out`, and the
//    frame ends with `frame_error_out` high;
//  * the flag is exact: `frame_error_out` is high at the end of a frame
//    exactly when it was truncated or one of its words had a bad symbol.
module frame_sync_props (
    input clock,
    input valid_in,
    input [15:0] data_out,
    input valid_out,
    input start_out,
    input frame_done_out,
    input frame_error_out,
    input truncated_out,
    input [1:0] symbol_errors_out,
    input in_frame,
    input padding,
    input [6:0] count,
    input err_acc,
    input h_valid
);
    // valid_in of one and two clocks ago.
    reg v1 = 0, v2 = 0;
    always @(posedge clock) begin
        v1 <= valid_in;
        v2 <= v1;
    end

    // The output frame in progress, as seen so far (registered part).
    reg open_q = 0;      // a frame is open after the previous output word
    reg [6:0] pos_q = 0; // position of the previous output word
    reg trunc_q = 0;     // the open frame was truncated (up to the previous word)
    reg serr_q = 0;      // the open frame had a bad symbol (up to the previous word)
    // This clock's word.
    wire [6:0] pos = start_out ? 7'd0 : pos_q + 7'd1;
    wire trunc_now = (start_out ? 1'b0 : trunc_q) | (valid_out && !v2);
    wire serr_now = (start_out ? 1'b0 : serr_q) | (symbol_errors_out != 0);
    wire open_now = valid_out && !frame_done_out;
    always @(posedge clock) begin
        open_q <= open_now;
        if (valid_out) begin
            pos_q <= pos;
            trunc_q <= trunc_now;
            serr_q <= serr_now;
        end
    end

    always @* begin
        // ---- whole frames ----
        if (open_q) assert (valid_out && !start_out);
        if (!open_q && valid_out) assert (start_out);
        if (start_out) assert (valid_out);
        assert (frame_done_out == (valid_out && pos == 7'd127));
        if (frame_error_out) assert (frame_done_out);
        // ---- truncation ----
        if (valid_out && !v2) assert (data_out == 16'd0 && symbol_errors_out == 2'd0);
        if (valid_out) assert (truncated_out == (trunc_now && !(start_out ? 1'b0 : trunc_q)));
        if (!valid_out) assert (!truncated_out);
        if (frame_done_out && trunc_now) assert (frame_error_out);
        // ---- the flag is exact ----
        if (frame_done_out) assert (frame_error_out == (trunc_now || serr_now));
`ifdef HELPERS
        // ---- helpers (tie the shadow to the registers) ----
        assert (h_valid == v1);
        assert (in_frame == open_now);
        if (in_frame) begin
            assert (count == pos + 7'd1);
            assert (padding == trunc_now);
            assert (err_acc == (trunc_now || serr_now));
        end
        if (!valid_out) assert (!start_out && !frame_done_out);
`endif
    end
endmodule
