package wiregen.interop;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.MessageToMessageCodec;
import java.util.List;
import java.util.Map;

/**
 * The bench protocol (../shared/bench-protocol.md, schema/examples/echo) expressed with Netty's
 * stock codecs only, so that it shares no code with wiregen:
 *
 * <pre>
 *   0        4      6
 *   +--------+------+-----------+   length: u32 big-endian, counts type + payload
 *   | length | type | payload   |   type:   u16 big-endian, 1 = EchoRequest, 2 = EchoReply
 *   +--------+------+-----------+
 * </pre>
 *
 * <p>The framing spec says {@code length_counts: AFTER_LENGTH_FIELD} with no {@code
 * length_adjustment}, which is exactly Netty's default reading of a length field: the length
 * counts the bytes that follow the field. The message type is not Netty's business; {@link
 * TypeCodec} handles it one stage later.
 */
final class BenchFraming {
  /** Message types from schema/examples/echo/echo.framing.textpb. */
  static final int ECHO_REQUEST = 1;

  static final int ECHO_REPLY = 2;

  /**
   * wiregen's default {@code max_frame_size} (4 MiB, the echo spec sets none). Netty compares
   * maxFrameLength with the whole frame, length field included, as wiregen does.
   */
  static final int MAX_FRAME_LENGTH = 4 * 1024 * 1024;

  private BenchFraming() {}

  /**
   * Installs the framing on a channel. Inbound: bytes, then frames without their length field,
   * then protobuf messages. Outbound: messages, then type + payload, then the length in front.
   *
   * @param inbound the message the peer sends, by type: the only one this side accepts
   * @param outbound the type of each message this side may send
   */
  static void install(
      ChannelPipeline pipeline,
      Map<Integer, Parser<? extends MessageLite>> inbound,
      Map<Class<? extends MessageLite>, Integer> outbound) {
    pipeline.addLast(
        "frameDecoder",
        new LengthFieldBasedFrameDecoder(
            MAX_FRAME_LENGTH,
            /* lengthFieldOffset= */ 0,
            /* lengthFieldLength= */ 4,
            /* lengthAdjustment= */ 0,
            /* initialBytesToStrip= */ 4));
    // Writes the u32 length of what follows it (type + payload), big-endian by default.
    pipeline.addLast("framePrepender", new LengthFieldPrepender(4));
    pipeline.addLast("typeCodec", new TypeCodec(inbound, outbound));
  }

  /**
   * Maps a frame body (u16 type, then the payload) to a protobuf message and back. Any type the
   * peer may not send is a protocol error, as wiregen's {@code unknown_message_id} and {@code
   * unexpected_message} are: it surfaces through exceptionCaught and the handler closes.
   */
  private static final class TypeCodec extends MessageToMessageCodec<ByteBuf, MessageLite> {
    private final Map<Integer, Parser<? extends MessageLite>> inbound;
    private final Map<Class<? extends MessageLite>, Integer> outbound;

    TypeCodec(
        Map<Integer, Parser<? extends MessageLite>> inbound,
        Map<Class<? extends MessageLite>, Integer> outbound) {
      this.inbound = Map.copyOf(inbound);
      this.outbound = Map.copyOf(outbound);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, MessageLite message, List<Object> out) {
      final Integer type = outbound.get(message.getClass());
      if (type == null) {
        throw new EncoderException("this side does not send " + message.getClass().getName());
      }
      final byte[] payload = message.toByteArray();
      final ByteBuf body = ctx.alloc().buffer(2 + payload.length);
      body.writeShort(type);
      body.writeBytes(payload);
      out.add(body);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf body, List<Object> out)
        throws InvalidProtocolBufferException {
      // The frame decoder already stripped the length field; 2 bytes of type must remain.
      if (body.readableBytes() < 2) {
        throw new CorruptedFrameException(
            "frame of " + body.readableBytes() + " byte(s) has no room for its u16 type");
      }
      final int type = body.readUnsignedShort();
      final Parser<? extends MessageLite> parser = inbound.get(type);
      if (parser == null) {
        throw new CorruptedFrameException("unexpected message type " + type);
      }
      // nioBuffer() views the readable bytes without copying; the parser copies what it keeps.
      out.add(parser.parseFrom(body.nioBuffer()));
    }
  }
}
