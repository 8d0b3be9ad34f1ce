package wiregen.interop;

import bench.Echo.EchoReply;
import bench.Echo.EchoRequest;
import com.google.protobuf.ByteString;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A bench-protocol client on Netty that checks every reply byte for byte:
 *
 * <pre>
 *   NettyEchoClient --connect HOST:PORT [--connections C] [--requests N] [--pipeline P]
 *                   [--timeout-seconds T]
 * </pre>
 *
 * <p>Each connection sends N EchoRequests, keeping up to P outstanding (the first P go out in
 * one flush, so the server reads several frames at once), and requires the replies in order with
 * the same seq and the same payload. Payload sizes cover the edges of the framing: empty, varint
 * length boundaries, around 64 KiB (larger than a socket read) and 1 MiB; seqs cover the proto3
 * default 0 (not on the wire at all) and values above 2^63 (10-byte varints, negative as Java
 * longs). Exits 0 only if every connection got every reply right within the timeout.
 */
public final class NettyEchoClient {
  /** Sizes every connection sends first, in this order; then {@link #payloadSize} varies them. */
  private static final int[] EDGE_SIZES = {
    0, 1, 127, 128, 16383, 16384, 65535, 65536, 65537, 1 << 20, 0, 3
  };

  private NettyEchoClient() {}

  /** Odd connections count up from just below 2^64 so that seq needs all 64 bits. */
  static long firstSeq(int connection) {
    return connection % 2 == 0 ? (long) connection << 40 : 0xFFFF_FFFF_FFFF_0000L;
  }

  static int payloadSize(int index) {
    if (index < EDGE_SIZES.length) {
      return EDGE_SIZES[index];
    }
    final Random random = new Random(index);
    // Mostly small frames, with one about 64 KiB now and then.
    return index % 29 == 0 ? 60_000 + random.nextInt(6_000) : random.nextInt(300);
  }

  /** Deterministic in (connection, index), so a failure reproduces with the same arguments. */
  static EchoRequest request(int connection, int index) {
    final byte[] payload = new byte[payloadSize(index)];
    new Random(31L * connection + index).nextBytes(payload);
    return EchoRequest.newBuilder()
        .setSeq(firstSeq(connection) + index)
        .setPayload(ByteString.copyFrom(payload))
        .build();
  }

  /** One connection's conversation; runs on its event loop only. */
  private static final class Conversation extends SimpleChannelInboundHandler<EchoReply> {
    final int connection;
    final int requests;
    final int pipeline;
    /** Completes normally when every reply matched, exceptionally with the first problem. */
    final CompletableFuture<Void> result = new CompletableFuture<>();
    /** Requests sent and not answered yet, oldest first: replies must come in this order. */
    private final ArrayDeque<EchoRequest> outstanding = new ArrayDeque<>();
    private int sent;
    /** Read by main on a timeout, to say how far the conversation got. */
    volatile int verified;

    Conversation(int connection, int requests, int pipeline) {
      this.connection = connection;
      this.requests = requests;
      this.pipeline = pipeline;
    }

    private void send(ChannelHandlerContext ctx) {
      final EchoRequest next = request(connection, sent++);
      outstanding.add(next);
      ctx.write(next);
    }

    private void fail(ChannelHandlerContext ctx, String problem) {
      result.completeExceptionally(
          new IllegalStateException("connection " + connection + ": " + problem));
      ctx.close();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      while (sent < Math.min(pipeline, requests)) {
        send(ctx);
      }
      ctx.flush();
      if (requests == 0) {
        result.complete(null);
        ctx.close();
      }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, EchoReply reply) {
      final EchoRequest expected = outstanding.poll();
      if (expected == null) {
        fail(ctx, "reply with seq " + Long.toUnsignedString(reply.getSeq()) + " to no request");
        return;
      }
      final String problem = compare(expected, reply);
      if (problem != null) {
        fail(ctx, "reply " + verified + ": " + problem);
        return;
      }
      ++verified;
      if (sent < requests) {
        send(ctx);
        ctx.flush();
      } else if (outstanding.isEmpty()) {
        result.complete(null);
        ctx.close();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      // A no-op after complete(): only an early close by the server is a failure.
      result.completeExceptionally(
          new IllegalStateException(
              "connection "
                  + connection
                  + ": closed by the server after "
                  + verified
                  + " of "
                  + requests
                  + " replies"));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(ctx, cause.toString());
    }
  }

  /** Null if the reply echoes the request exactly, else what differs. */
  static String compare(EchoRequest expected, EchoReply reply) {
    if (reply.getSeq() != expected.getSeq()) {
      return "seq "
          + Long.toUnsignedString(reply.getSeq())
          + ", expected "
          + Long.toUnsignedString(expected.getSeq());
    }
    final ByteString want = expected.getPayload();
    final ByteString got = reply.getPayload();
    if (got.equals(want)) {
      return null;
    }
    int at = 0;
    while (at < want.size() && at < got.size() && want.byteAt(at) == got.byteAt(at)) {
      ++at;
    }
    return String.format(
        "seq %s: payload of %d byte(s) differs from the %d sent, first at byte %d",
        Long.toUnsignedString(expected.getSeq()), got.size(), want.size(), at);
  }

  /** Our own failures carry a full sentence; anything else (connect errors) is shown whole. */
  private static String describe(Throwable error) {
    return error instanceof IllegalStateException ? error.getMessage() : error.toString();
  }

  private static int usage() {
    System.err.println(
        "usage: NettyEchoClient --connect HOST:PORT [--connections C] [--requests N]"
            + " [--pipeline P] [--timeout-seconds T]");
    return 2;
  }

  public static void main(String[] args) throws InterruptedException {
    String host = null;
    int port = -1;
    int connections = 2;
    int requests = 500;
    int pipeline = 32;
    int timeoutSeconds = 15;
    for (int i = 0; i + 1 < args.length; i += 2) {
      final String value = args[i + 1];
      switch (args[i]) {
        case "--connect" -> {
          final int colon = value.lastIndexOf(':');
          if (colon <= 0) {
            System.exit(usage());
          }
          host = value.substring(0, colon);
          port = Integer.parseInt(value.substring(colon + 1));
        }
        case "--connections" -> connections = Integer.parseInt(value);
        case "--requests" -> requests = Integer.parseInt(value);
        case "--pipeline" -> pipeline = Math.max(1, Integer.parseInt(value));
        case "--timeout-seconds" -> timeoutSeconds = Integer.parseInt(value);
        default -> System.exit(usage());
      }
    }
    if (host == null || args.length % 2 != 0) {
      System.exit(usage());
    }

    final long start = System.nanoTime();
    final EventLoopGroup group = new NioEventLoopGroup(1);
    final List<Conversation> conversations = new ArrayList<>();
    String failure = null;
    try {
      for (int c = 0; c < connections; ++c) {
        final Conversation conversation = new Conversation(c, requests, pipeline);
        conversations.add(conversation);
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel channel) {
                    BenchFraming.install(
                        channel.pipeline(),
                        Map.of(BenchFraming.ECHO_REPLY, EchoReply.parser()),
                        Map.of(EchoRequest.class, BenchFraming.ECHO_REQUEST));
                    channel.pipeline().addLast("conversation", conversation);
                  }
                })
            .connect(host, port)
            .addListener(
                connected -> {
                  if (!connected.isSuccess()) {
                    conversation.result.completeExceptionally(connected.cause());
                  }
                });
      }
      // Done when every conversation succeeded, or as soon as one fails: a hung connection must
      // not hide another one's mismatch behind a timeout.
      final CompletableFuture<Void> outcome =
          CompletableFuture.allOf(
              conversations.stream().map(c -> c.result).toArray(CompletableFuture<?>[]::new));
      for (Conversation c : conversations) {
        c.result.whenComplete(
            (ok, error) -> {
              if (error != null) {
                outcome.completeExceptionally(error);
              }
            });
      }
      try {
        outcome.get(timeoutSeconds, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        failure = describe(e.getCause());
      } catch (TimeoutException e) {
        final StringBuilder progress = new StringBuilder();
        for (Conversation c : conversations) {
          progress.append(
              String.format(" connection %d: %d/%d verified;", c.connection, c.verified, requests));
        }
        failure = "no complete answer within " + timeoutSeconds + " s:" + progress;
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    final double seconds = (System.nanoTime() - start) / 1e9;
    final int verified = conversations.stream().mapToInt(c -> c.verified).sum();
    System.out.printf(
        "NettyEchoClient: %d connection(s), %d requests, %d replies verified, %.3f s%n",
        connections, connections * requests, verified, seconds);
    if (failure != null) {
      System.err.println("NettyEchoClient: FAILED: " + failure);
      System.exit(1);
    }
  }
}
