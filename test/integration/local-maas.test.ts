import OpenAI, {
  APIConnectionTimeoutError,
  AuthenticationError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type MaasRequestRecord,
  type MaasService,
  type MaasUsage,
  startMaas,
} from "../../infra/local/maas";
import { timeScale } from "../../infra/local/service";

const KEY = "maas-key-primary-0123456789";
const OTHER_KEY = "maas-key-secondary-9876543210";
const MODEL = "deepseek-v3";

let maas: MaasService;

beforeAll(async () => {
  maas = await startMaas({
    keys: [KEY, OTHER_KEY],
    models: [MODEL, "qwen3-32b"],
    time: timeScale(0.01),
  });
});

afterEach(() => {
  maas.reset();
});

afterAll(async () => {
  await maas.close();
});

function client(options: { apiKey?: string; timeout?: number; baseURL?: string } = {}): OpenAI {
  return new OpenAI({
    apiKey: options.apiKey ?? KEY,
    baseURL: options.baseURL ?? `${maas.url}/v1`,
    maxRetries: 0,
    timeout: options.timeout ?? 10_000,
  });
}

const ask = (openai: OpenAI, text = "is the gateway alive?") =>
  openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: text }] });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

describe("MaaS fake through the openai client", () => {
  it("lists the configured models", async () => {
    const page = await client().models.list();
    expect(page.data.map((model) => model.id)).toEqual([MODEL, "qwen3-32b"]);
    expect(page.data[0]).toMatchObject({ object: "model", owned_by: "huawei-maas" });
  });

  it("answers a completion deterministically, with usage", async () => {
    const first = await ask(client(), "please reply with a short greeting for the operator today");
    const second = await ask(client(), "please reply with a short greeting for the operator today");
    expect(first.choices[0]?.message.content).toBe(
      "Local MaaS reply: please reply with a short greeting for the",
    );
    expect(second.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(first.choices[0]?.finish_reason).toBe("stop");
    expect(first.model).toBe(MODEL);
    expect(first.usage).toEqual({ prompt_tokens: 15, completion_tokens: 15, total_tokens: 30 });
  });

  it("streams chunks that assemble into the same reply, then usage and [DONE]", async () => {
    const stream = await client().chat.completions.create({
      model: MODEL,
      messages: [
        { role: "system", content: "You are OpenClaw." },
        { role: "user", content: "stream this back to me please" },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      const choice = chunk.choices[0];
      if (choice !== undefined) {
        text += choice.delta.content ?? "";
        finishes.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Local MaaS reply: stream this back to me please");
    expect(finishes.at(-1)).toBe("stop");
    expect(finishes.slice(0, -1).every((finish) => finish === null)).toBe(true);
    expect(usage).toMatchObject({ completion_tokens: 12 });
  });

  it("accepts a 60 KB request with tools, as the gateway sends", async () => {
    const tools = ["exec", "read", "write", "ls"].map((name) => ({
      type: "function" as const,
      function: {
        name,
        description: `tool ${name}`,
        parameters: { type: "object", properties: {} },
      },
    }));
    const completion = await client().chat.completions.create({
      model: MODEL,
      messages: [
        { role: "system", content: "x".repeat(60_000) },
        { role: "user", content: "hello from telegram" },
      ],
      tools,
      tool_choice: "auto",
      max_completion_tokens: 4096,
    });
    expect(completion.choices[0]?.message.content).toBe("Local MaaS reply: hello from telegram");
    expect(completion.usage?.prompt_tokens).toBe(Math.ceil(60_019 / 4));
    const last = (await maas.control("requests", {})) as MaasRequestRecord[];
    expect(last.at(-1)).toMatchObject({ endpoint: "chat", tools: 4, keyIndex: 0, status: 200 });
    expect(last.at(-1)?.bodyBytes).toBeGreaterThan(60_000);
  });

  it("rejects a wrong key, an unknown model and the doubled /chat/completions path", async () => {
    const auth = await rejection(ask(client({ apiKey: "wrong-key" })));
    expect(auth).toBeInstanceOf(AuthenticationError);
    expect((auth as AuthenticationError).status).toBe(401);
    expect((auth as AuthenticationError).code).toBe("invalid_api_key");
    expect((auth as AuthenticationError).message).not.toContain("wrong-key");

    const model = await rejection(
      client().chat.completions.create({
        model: "gpt-9",
        messages: [{ role: "user", content: "hi" }],
      }),
    );
    expect(model).toBeInstanceOf(NotFoundError);
    expect((model as NotFoundError).code).toBe("model_not_found");

    const doubled = await rejection(ask(client({ baseURL: `${maas.url}/v1/chat/completions` })));
    expect(doubled).toBeInstanceOf(NotFoundError);
  });

  it("injects each status fault, once, on the chosen endpoint", async () => {
    const expected: [number, new (...args: never[]) => Error][] = [
      [401, AuthenticationError],
      [403, PermissionDeniedError],
      [404, NotFoundError],
      [429, RateLimitError],
      [500, InternalServerError],
      [503, InternalServerError],
    ];
    for (const [status, type] of expected) {
      await maas.control("status", { status, count: 1 });
      const error = await rejection(ask(client()));
      expect(error).toBeInstanceOf(type);
      expect((error as InternalServerError).status).toBe(status);
      if (status === 429) expect((error as RateLimitError).headers.get("retry-after")).toBe("1");
      await ask(client());
    }

    await maas.control("status", { status: 503, endpoint: "chat" });
    await client().models.list();
    expect(await rejection(ask(client()))).toBeInstanceOf(InternalServerError);
    maas.reset();
    await ask(client());
  });

  it("times the client out while slow or hung, and answers again after reset", async () => {
    await maas.control("slow", { ms: 5_000 });
    expect(await rejection(ask(client({ timeout: 200 })))).toBeInstanceOf(
      APIConnectionTimeoutError,
    );
    maas.reset();

    await maas.control("hang", {});
    expect(await rejection(client({ timeout: 200 }).models.list())).toBeInstanceOf(
      APIConnectionTimeoutError,
    );
    maas.reset();
    await client().models.list();

    await maas.control("latency", { ms: 30 });
    await ask(client());
    await maas.control("error", { status: 500, count: 1 });
    expect(await rejection(ask(client()))).toBeInstanceOf(InternalServerError);
  });

  it("can withhold /models, as some MaaS deployments do, while chat still works", async () => {
    await maas.control("disable-models", {});
    expect(await rejection(client().models.list())).toBeInstanceOf(NotFoundError);
    await ask(client());
  });

  it("counts tokens per key and requests per endpoint", async () => {
    await maas.control("clear-usage", {});
    const a = await ask(client(), "one two three four");
    const b = await ask(client({ apiKey: OTHER_KEY }), "five six");
    await client({ apiKey: OTHER_KEY }).models.list();
    await rejection(ask(client({ apiKey: "nope" })));

    const usage = (await maas.control("usage", {})) as MaasUsage;
    expect(usage.endpoints).toEqual({ models: 1, chat: 3, other: 0 });
    expect(usage.keys[0]).toMatchObject({
      index: 0,
      requests: 1,
      chatCompletions: 1,
      promptTokens: a.usage?.prompt_tokens,
      completionTokens: a.usage?.completion_tokens,
    });
    expect(usage.keys[1]).toMatchObject({
      requests: 2,
      chatCompletions: 1,
      totalTokens: b.usage?.total_tokens,
    });
    expect(usage.totals.totalTokens).toBe(
      (a.usage?.total_tokens ?? 0) + (b.usage?.total_tokens ?? 0),
    );
    const serialized = JSON.stringify([usage, maas.requests()]);
    expect(serialized).not.toContain(KEY);
    expect(serialized).not.toContain(OTHER_KEY);
  });
});
