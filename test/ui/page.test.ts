import { describe, expect, it } from "vitest";
import { embeddedJson, escapeHtml } from "../../src/ui/page.ts";

describe("embeddedJson", () => {
  it("leaves nothing that can end a script element or a JavaScript string", () => {
    const text = embeddedJson([{ s: "</script><!-- & \u2028" }]);
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual([{ s: "</script><!-- & \u2028" }]);
  });
});

describe("escapeHtml", () => {
  it("escapes the five characters that matter in text and attributes", () => {
    expect(escapeHtml(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  });
});
