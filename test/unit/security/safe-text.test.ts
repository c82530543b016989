import { describe, expect, it } from "vitest";
import { dropControlChars, plainText, safeHtml } from "../../../src/security/safe-text.js";

describe("safe text from bots and operators", () => {
  it("keeps the allowed subset without attributes", () => {
    expect(safeHtml('<p class="x" onclick="alert(1)">Ciao <b style="color:red">Mario</b><br>riga</p><ul><li>uno</li></ul>')).toBe(
      "<p>Ciao <b>Mario</b><br />riga</p><ul><li>uno</li></ul>",
    );
  });

  it("drops scripts with their content, links (javascript: ones too) keeping their text, images, iframes, styles", () => {
    const out = safeHtml(
      '<script>alert(1)</script>Vai <a href="javascript:alert(2)">qui</a><img src=x onerror=alert(3)><iframe src="https://evil"></iframe><style>*{}</style>!',
    );
    expect(out).toBe("Vai qui!");
    expect(safeHtml("<svg><script>alert(1)</script></svg>ok")).toBe("ok");
    expect(safeHtml("<scr<script>ipt>alert(1)</script>")).not.toMatch(/<script/i);
  });

  it("drops control characters other than newline and tab, and non-characters; keeps emoji and accents", () => {
    expect(dropControlChars("a\u0000b\u0001c\u0007d\u001be\u007ff\u0085g\r\nh\ti\uFFFEj\uFFFF")).toBe("abcdefg\nh\tij");
    expect(dropControlChars("x\uD800y")).toBe("xy");
    expect(safeHtml("Perché 😀👍🏽 👨‍👩‍👧 ok")).toBe("Perché 😀👍🏽 👨‍👩‍👧 ok");
    expect(safeHtml("<b>😀</b>\u0002")).toBe("<b>😀</b>");
  });

  it("escapes what is not markup", () => {
    expect(safeHtml("1 < 2 & 3 > 2")).toBe("1 &lt; 2 &amp; 3 &gt; 2");
  });

  it("plain text: no markup, lines kept, entities back to characters, emoji kept", () => {
    expect(plainText("<p>Ciao <b>Mario</b></p><p>seconda<br>riga</p><ul><li>uno</li><li>due</li></ul>")).toBe(
      "Ciao Mario\nseconda\nriga\n- uno\n- due",
    );
    expect(plainText('<a href="javascript:x">Tom & Jerry</a> 1 < 2 😀<script>alert(1)</script>')).toBe("Tom & Jerry 1 < 2 😀");
    expect(plainText("solo testo\ncon a capo")).toBe("solo testo\ncon a capo");
  });
});
