import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseTelegramHtml } from "../../infra/local/telegram-html";
import { decodeCallback } from "../../shared/notify/callback-data";
import {
  clipEscaped,
  confirmKeyboard,
  escapeHtml,
  MAX_MESSAGE_LENGTH,
  type RenderedMessage,
  renderNotification,
  renderReply,
} from "../../shared/notify/render";
import {
  BUTTONS,
  NOTIFICATION_TYPES,
  type Notification,
  SEVERITIES,
} from "../../shared/policy/state";
import { incidentRef } from "../../shared/policy/text";

// The local Telegram fake parses HTML exactly as Telegram does: it is the oracle here.

function notification(overrides: Partial<Notification> = {}): Notification {
  return {
    id: "prod.gateway.1:opened",
    type: "opened",
    component: "gateway",
    incidentId: "prod.gateway.1",
    severity: "critical",
    title: "gateway down on prod",
    lines: ["GET /readyz: connection refused.", "Failing since 2024-05-01 12:03 UTC."],
    buttons: ["ack", "mute", "reboot", "status"],
    ...overrides,
  };
}

function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

function assertSendable(rendered: RenderedMessage): void {
  expect(rendered.html.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  expect(rendered.text.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  expect(() => parseTelegramHtml(rendered.html)).not.toThrow();
  expect(hasLoneSurrogate(rendered.html)).toBe(false);
  expect(hasLoneSurrogate(rendered.text)).toBe(false);
}

describe("renderNotification", () => {
  it("renders a bold title with a severity marker, the box and the facts", () => {
    const rendered = renderNotification("prod", notification());
    expect(rendered.html).toBe(
      "🔴 <b>gateway down on prod</b>\n<i>prod · gateway · critical</i>\n\n" +
        "GET /readyz: connection refused.\nFailing since 2024-05-01 12:03 UTC.",
    );
    expect(rendered.text).toBe(
      "🔴 gateway down on prod\nprod · gateway · critical\n\n" +
        "GET /readyz: connection refused.\nFailing since 2024-05-01 12:03 UTC.",
    );
    const parsed = parseTelegramHtml(rendered.html);
    expect(parsed.text).toBe(rendered.text);
    expect(parsed.entities.map((e) => e.type)).toEqual(["bold", "italic"]);
  });

  it("escapes <, > and & in the title and the lines", () => {
    const rendered = renderNotification(
      "prod",
      notification({
        title: "<b>not bold</b> & co",
        lines: ["if a < b && c > d", "&amp; stays literal", "<script>"],
      }),
    );
    expect(rendered.html).toContain("<b>&lt;b&gt;not bold&lt;/b&gt; &amp; co</b>");
    expect(rendered.html).toContain("if a &lt; b &amp;&amp; c &gt; d\n&amp;amp; stays literal");
    const parsed = parseTelegramHtml(rendered.html);
    expect(parsed.text).toBe(rendered.text);
    expect(parsed.text).toContain("&amp; stays literal");
    expect(escapeHtml("<&>")).toBe("&lt;&amp;&gt;");
  });

  it("renders 'resolved' as good news: its own marker, no severity", () => {
    const rendered = renderNotification(
      "prod",
      notification({
        id: "prod.gateway.1:resolved",
        type: "resolved",
        severity: "info",
        title: "resolved: gateway down on prod",
        lines: ["Resolved after 7 min.", "Actions taken: soft reboot."],
        buttons: undefined,
        replyTo: "prod.gateway.1",
        replyToMessageId: 17,
      }),
    );
    expect(rendered.html.startsWith("✅ <b>resolved: gateway down on prod</b>")).toBe(true);
    expect(rendered.html).toContain("<i>prod · gateway · back to normal</i>");
    expect(rendered.html).not.toMatch(/critical|warning|info/);
    expect(rendered.keyboard).toBeUndefined();
  });

  it("gives every type and severity a marker", () => {
    for (const type of NOTIFICATION_TYPES) {
      for (const severity of SEVERITIES) {
        const rendered = renderNotification("prod", notification({ type, severity }));
        expect(rendered.html).toMatch(/^\S+ <b>/u);
        assertSendable(rendered);
      }
    }
    expect(renderNotification("p", notification({ severity: "warning" })).html).toMatch(/^🟠/u);
    expect(renderNotification("p", notification({ type: "needs-human" })).html).toMatch(/^🆘/u);
  });

  it("draws the policy's buttons with callback data that names the box", () => {
    const rendered = renderNotification("prod-eu-1", notification({ component: "gateway" }));
    const rows = rendered.keyboard?.inline_keyboard ?? [];
    expect(rows.map((row) => row.map((b) => b.text))).toEqual([
      ["✅ Ack 1 h", "🔕 Mute 4 h"],
      ["🔄 Reboot…", "📋 Status"],
    ]);
    expect(rows.flat().map((b) => decodeCallback(b.callback_data))).toEqual([
      {
        action: "ack",
        box: "prod-eu-1",
        arg: "1h",
        component: "gateway",
        incident: incidentRef("prod.gateway.1"),
      },
      { action: "mute", box: "prod-eu-1", arg: "4h" },
      { action: "reboot", box: "prod-eu-1" },
      { action: "status", box: "prod-eu-1" },
    ]);
    const maas = renderNotification(
      "prod",
      notification({ component: "maas", buttons: ["ack", "status"] }),
    );
    expect(maas.keyboard?.inline_keyboard).toHaveLength(1);
    expect(decodeCallback(maas.keyboard?.inline_keyboard[0]?.[0]?.callback_data)).toMatchObject({
      action: "ack",
      component: "maas",
    });
    expect(renderNotification("prod", notification({ buttons: [] })).keyboard).toBeUndefined();
  });

  it("keeps the longest box name's buttons within Telegram's 64 bytes", () => {
    const box = `x${"y".repeat(39)}`;
    for (const component of ["telegram", "watchdog"] as const) {
      const rendered = renderNotification(
        box,
        notification({ component, incidentId: `${box}.${component}.1764849600000` }),
      );
      for (const button of rendered.keyboard?.inline_keyboard.flat() ?? []) {
        expect(Buffer.byteLength(button.callback_data)).toBeLessThanOrEqual(64);
        expect(decodeCallback(button.callback_data)?.box).toBe(box);
      }
    }
  });

  it("truncates to 4096 characters without breaking a tag, an entity or a character", () => {
    const rendered = renderNotification(
      "prod",
      notification({ lines: Array.from({ length: 8 }, () => "&<>".repeat(400)) }),
    );
    assertSendable(rendered);
    expect(rendered.html.endsWith("…")).toBe(true);
    expect(rendered.text.endsWith("…")).toBe(true);
    expect(rendered.html).toContain("<b>gateway down on prod</b>");
  });

  it("stays sendable for any title and lines", () => {
    const text = fc.string({ unit: "binary", maxLength: 600 });
    const chunky = fc
      .array(fc.constantFrom("&", "<", ">", "😀", "a", " ", "&amp;", "\n"), { maxLength: 700 })
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(
        fc.oneof(text, chunky),
        fc.array(fc.oneof(text, chunky), { maxLength: 12 }),
        fc.constantFrom(...NOTIFICATION_TYPES),
        fc.subarray([...BUTTONS]),
        (title, lines, type, buttons) => {
          const rendered = renderNotification(
            "prod",
            notification({ title, lines, type, buttons }),
          );
          assertSendable(rendered);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("clipEscaped", () => {
  it("backs off to the start of an entity it would split", () => {
    expect(clipEscaped("a&amp;b", 4)).toBe("a…");
    expect(clipEscaped("a&amp;b", 7)).toBe("a&amp;b");
    expect(clipEscaped("ab&lt;cd", 7)).toBe("ab&lt;…");
    expect(clipEscaped("a😀b", 3)).toBe("a…");
  });
});

describe("renderReply and confirmKeyboard", () => {
  it("renders a free-form reply with a confirmation keyboard", () => {
    const reply = renderReply({
      title: "Reboot prod?",
      lines: ["The gateway has been down for 7 min."],
      keyboard: confirmKeyboard("prod", "reboot", "sb0k2a"),
    });
    expect(reply.html).toBe("<b>Reboot prod?</b>\n\nThe gateway has been down for 7 min.");
    assertSendable(reply);
    const [confirm, cancel] = reply.keyboard?.inline_keyboard[0] ?? [];
    expect(decodeCallback(confirm?.callback_data)).toEqual({
      action: "reboot-confirm",
      box: "prod",
      arg: "sb0k2a",
    });
    expect(decodeCallback(cancel?.callback_data)).toEqual({ action: "cancel", box: "prod" });
    const rebootstrap = confirmKeyboard("prod", "rebootstrap").inline_keyboard[0]?.[0];
    expect(decodeCallback(rebootstrap?.callback_data)?.action).toBe("rebootstrap-confirm");
  });
});
