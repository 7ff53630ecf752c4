"""Junk and duplicates as real crawls hold them, made from the real text."""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import random

from .records import EXACT_DUP_FRACTION, NEAR_DUP_FRACTION, Rec


NAV_EN = ["Home", "About us", "Products", "Services", "Solutions", "Pricing", "Blog", "News",
          "Careers", "Contact", "Support", "FAQ", "Login", "Sign up", "My account", "Cart",
          "Privacy Policy", "Terms of Use", "Sitemap", "Press", "Partners", "Investors",
          "Events", "Downloads", "Documentation", "Community", "Shop", "Gift cards", "Help"]
NAV_ZH = ["首页", "关于我们", "产品中心", "新闻动态", "解决方案", "客户案例", "联系我们", "在线留言",
          "人才招聘", "网站地图", "企业文化", "荣誉资质", "技术支持", "下载中心", "常见问题",
          "登录", "注册", "购物车", "帮助中心", "隐私政策", "服务条款", "投资者关系"]
COOKIE_EN = [
    "We use cookies to improve your experience on our website. By continuing to browse, you agree to our use of cookies.",
    "This website uses cookies to ensure you get the best experience. Learn more. Got it!",
    "We and our partners use cookies and similar technologies to personalise content and ads, to provide social media features and to analyse our traffic. Accept all / Reject all / Manage preferences",
    "By clicking \"Accept All Cookies\", you agree to the storing of cookies on your device to enhance site navigation, analyze site usage, and assist in our marketing efforts.",
]
COOKIE_ZH = [
    "本网站使用Cookie以提升您的浏览体验。继续浏览即表示您同意我们使用Cookie。",
    "我们使用 Cookie 来改善您的体验并分析网站流量。点击“接受”即表示您同意。接受 拒绝 设置",
]
SPAM_EN = ["cheap flights", "best hotels", "casino bonus", "free download", "replica watches",
           "payday loans", "online casino", "buy followers", "weight loss pills", "cheap insurance",
           "free movies online", "crypto signals", "seo services", "best vpn", "discount shoes",
           "make money fast", "work from home", "cheap hosting", "free iphone", "bitcoin doubler"]
SPAM_ZH = ["网站优化", "SEO排名", "代开发票", "快速排名", "百度推广", "网络营销", "低价出售", "免费下载",
           "高清电影", "彩票平台", "网赚项目", "刷单兼职", "减肥药", "整形医院", "代写论文", "信用卡套现"]
SHORT_PAGES = ["404 Not Found", "Loading...", "Please enable JavaScript to view this page.",
               "Access denied", "Coming soon!", "Under construction", "Home | Login", "Redirecting…",
               "页面不存在", "正在加载…", "登录", "该页面已被删除", "请开启JavaScript", "网站建设中"]
LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
         "labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco "
         "laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in reprehenderit in "
         "voluptate velit esse cillum dolore eu fugiat nulla pariatur excepteur sint occaecat "
         "cupidatat non proident sunt in culpa qui officia deserunt mollit anim id est laborum").split()
SHARE_EN = ["Share this: Facebook Twitter Email Print", "Posted in Uncategorized | Leave a comment",
            "Related posts:", "Read more »", "Tags: life, quotes, humor"]
SHARE_ZH = ["分享到：微信 微博 QQ空间", "来源：网络 转载请注明出处", "责任编辑：小编", "阅读全文 »", "相关阅读："]


class Junk:
    """Generators of the junk real crawls hold; each returns (text, html page).
    `rng` is the build's one generator."""

    def __init__(self, rng: random.Random, en_lines: list[str], zh_lines: list[str]):
        self.rng, self.en_lines, self.zh_lines = rng, en_lines, zh_lines

    def _page(self, title: str, body: str, lang: str) -> bytes:
        return (f"<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n").encode()

    def nav_only(self):
        zh = self.rng.random() < 0.4
        items = self.rng.sample(NAV_ZH if zh else NAV_EN, self.rng.randint(8, 18))
        links = "\n".join(f'<li><a href="/{i}/">{html.escape(x)}</a></li>' for i, x in enumerate(items))
        foot = ("版权所有 © 2023 京ICP备%08d号" % self.rng.randrange(10**8) if zh
                else f"© {self.rng.randint(2015, 2024)} All rights reserved.")
        body = f"<header><nav><ul>\n{links}\n</ul></nav></header>\n<footer>{foot}</footer>"
        return "\n".join(items + [foot]), self._page(items[0], body, "zh" if zh else "en")

    def cookie_banner(self):
        zh = self.rng.random() < 0.4
        banner = self.rng.choice(COOKIE_ZH if zh else COOKIE_EN)
        line = self.rng.choice(self.zh_lines if zh else self.en_lines)
        body = f'<div class="cookie-banner">{html.escape(banner)}</div>\n<p>{html.escape(line)}</p>'
        return f"{banner}\n{line}", self._page("Welcome", body, "zh" if zh else "en")

    def keyword_spam(self):
        zh = self.rng.random() < 0.4
        words = SPAM_ZH if zh else SPAM_EN
        kws = [self.rng.choice(words) for _ in range(self.rng.randint(40, 160))]
        sep = "，" if zh else ", "
        text = sep.join(kws)
        body = "<p>" + html.escape(text) + "</p>"
        return text, self._page(kws[0], body, "zh" if zh else "en")

    def repeated_lines(self):
        zh = self.rng.random() < 0.4
        pool = self.zh_lines if zh else self.en_lines
        block = [self.rng.choice(pool) for _ in range(self.rng.randint(1, 3))]
        lines = block * self.rng.randint(8, 30)
        body = "\n".join(f"<p>{html.escape(x)}</p>" for x in lines)
        return "\n".join(lines), self._page(block[0][:40], body, "zh" if zh else "en")

    def lorem_ipsum(self):
        paras = []
        for _ in range(self.rng.randint(2, 6)):
            words = [self.rng.choice(LOREM) for _ in range(self.rng.randint(30, 90))]
            paras.append(" ".join(words).capitalize() + ".")
        body = "\n".join(f"<p>{p}</p>" for p in paras)
        return "\n\n".join(paras), self._page("Lorem ipsum", body, "la")

    def very_short(self):
        t = self.rng.choice(SHORT_PAGES)
        return t, self._page(t, f"<p>{html.escape(t)}</p>", "en")

    def number_table(self):
        day = dt.date(2023, 1, 2) + dt.timedelta(days=self.rng.randrange(300))
        price = self.rng.uniform(5, 500)
        rows = []
        for _ in range(self.rng.randint(15, 60)):
            o = price
            price *= 1 + self.rng.gauss(0, 0.02)
            hi, lo = max(o, price) * 1.01, min(o, price) * 0.99
            rows.append([day.isoformat(), f"{o:.2f}", f"{hi:.2f}", f"{lo:.2f}", f"{price:.2f}",
                         f"{self.rng.randrange(10**4, 10**7):,}"])
            day += dt.timedelta(days=1)
        text = "\n".join("  ".join(r) for r in rows)
        body = "<table>\n" + "\n".join(
            "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "\n</table>"
        return text, self._page("Historical prices", body, "en")

    def mojibake(self, text: str):
        """Real text, UTF-8 bytes read as cp1252 (undefined bytes as latin-1)
        or as latin-1: what a wrong charset guess makes of it."""
        b = text.encode("utf-8")
        if self.rng.random() < 0.5:
            return b.decode("latin-1")
        return "".join(bytes([x]).decode("cp1252", errors="ignore") or chr(x) for x in b)

    KINDS = ("nav_only", "cookie_banner", "keyword_spam", "repeated_lines", "lorem_ipsum",
             "very_short", "number_table")


def near_duplicate(rng: random.Random, text: str, lang: str | None) -> str:
    """A near copy as crawls hold them: a share/boilerplate line added, a few
    words swapped for others of the same text, spacing changed."""
    zh = lang == "zh"
    lines = text.split("\n")
    op = rng.randrange(3)
    if op == 0:
        extra = rng.choice(SHARE_ZH if zh else SHARE_EN)
        lines = lines + [extra] if rng.random() < 0.5 else [extra] + lines
    elif op == 1 and not zh:
        words = text.split(" ")
        for _ in range(max(1, len(words) // 40)):
            i, j = rng.randrange(len(words)), rng.randrange(len(words))
            words[i] = words[j]
        lines = " ".join(words).split("\n")
    elif op == 1:
        chars = list(text)
        for _ in range(max(1, len(chars) // 60)):
            i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
            if not chars[i].isspace() and not chars[j].isspace():
                chars[i] = chars[j]
        lines = "".join(chars).split("\n")
    else:
        lines = [ln.replace(" ", "  ", 1) if i % 2 else ln.rstrip() + " " for i, ln in enumerate(lines)]
        lines.append(rng.choice(SHARE_ZH if zh else SHARE_EN))
    return "\n".join(lines)


def near_duplicate_page(rng: random.Random, page: Rec) -> bytes:
    """The same page as a scraper site serves it: its own banner on top, a
    share line and a date at the bottom, the main content untouched."""
    zh = page.lang == "zh"
    charset = "gbk" if "GBK" in page.content_type else "utf-8"
    top = ('<div class="site-banner">' + ("转载自网络，仅供学习交流" if zh else "Reposted for reference only")
           + "</div>").encode(charset)
    day = (dt.date(2023, 9, 1) + dt.timedelta(days=rng.randrange(200))).isoformat()
    bottom = (f'<div class="share">{rng.choice(SHARE_ZH if zh else SHARE_EN)} · {day}</div>').encode(charset)
    head, body = page.html.split(b"<body", 1)
    open_tag, rest = body.split(b">", 1)
    rest = rest.replace(b"</body>", bottom + b"</body>")
    return head + b"<body" + open_tag + b">" + top + rest


JUNK_WORDS = ["best", "cheap", "top", "deals", "news", "daily", "shop", "info", "online", "hub", "zone", "world"]


def junk_host(rng: random.Random) -> str:
    return f"www.{rng.choice(JUNK_WORDS)}-{rng.choice(JUNK_WORDS)}{rng.randrange(100)}.example.com"


def mirror_url(url: str, i: int) -> str:
    """Where a copied page lives: another site (mirrors, scrapers, aggregators)."""
    host = ("mirror", "archive", "blog", "bbs", "news")[i % 5]
    return f"https://{host}{i % 37}.example.net/{hashlib.sha1(url.encode()).hexdigest()[:10]}/{i}"


def _web_file(fmt: str) -> str:
    return "web-mixed.jsonl.gz" if fmt == "jsonl" else ""


def junk_records(rng: random.Random, recs: list[Rec], en_lines: list[str], zh_lines: list[str]) -> list[Rec]:
    """HTML junk pages (WARC), text junk (wet/jsonl/parquet) and mojibake of
    real text, in numbers proportional to the real records ``recs``."""
    junk = Junk(rng, en_lines, zh_lines)
    n_real = len(recs)
    out = []
    for i in range(int(n_real * 0.025)):  # HTML junk pages in the WARC
        kind = Junk.KINDS[i % len(Junk.KINDS)]
        text, page = getattr(junk, kind)()
        out.append(Rec(url=f"https://{junk_host(rng)}/{kind.replace('_', '-')}/{i}.html", text=text,
                       source="web", lang=None, kind=kind, fmt="warc", html=page))
    for i in range(int(n_real * 0.03)):  # text junk in wet/jsonl/parquet
        kind = Junk.KINDS[i % len(Junk.KINDS)]
        text, _ = getattr(junk, kind)()
        fmt = ("wet", "jsonl", "parquet")[i % 3]
        out.append(Rec(url=f"https://{junk_host(rng)}/{kind.replace('_', '-')}/t{i}", text=text,
                       source="web", lang=None, kind=kind, fmt=fmt, file=_web_file(fmt)))
    long_real = [r for r in recs if r.fmt != "warc" and r.lang in ("en", "zh") and len(r.text) >= 120]
    for i, orig in enumerate(rng.sample(long_real, int(n_real * 0.015))):
        text = junk.mojibake(orig.text)
        fmt = ("jsonl", "parquet")[i % 2]
        out.append(Rec(url=f"https://{junk_host(rng)}/post/{i}.php", text=text, source="web",
                       lang=None, kind="mojibake", fmt=fmt, file=_web_file(fmt)))
    return out


def text_duplicates(rng: random.Random, recs: list[Rec]) -> list[Rec]:
    """Exact and near copies of real text records, at new urls and formats."""
    n_real = len(recs)
    out = []
    textual = [r for r in recs if r.fmt != "warc" and r.source != "chatterbot-corpus"]
    for i, orig in enumerate(rng.sample(textual, int(n_real * EXACT_DUP_FRACTION))):
        fmt = rng.choice(("jsonl", "parquet", "wet"))
        out.append(Rec(url=mirror_url(orig.url, i), text=orig.text, source=orig.source, lang=orig.lang,
                       kind="exact_dup", dup_of=orig.url, fmt=fmt, file=_web_file(fmt)))
    long_text = [r for r in textual if len(r.text) >= 400]
    for i, orig in enumerate(rng.sample(long_text, min(len(long_text), int(n_real * NEAR_DUP_FRACTION)))):
        fmt = rng.choice(("jsonl", "parquet", "wet"))
        out.append(Rec(url=mirror_url(orig.url, 10_000 + i), text=near_duplicate(rng, orig.text, orig.lang),
                       source=orig.source, lang=orig.lang, kind="near_dup", dup_of=orig.url, fmt=fmt,
                       file=_web_file(fmt)))
    return out


def page_duplicates(rng: random.Random, recs: list[Rec]) -> list[Rec]:
    """HTML pages again at tracking-parameter urls (exact) and on scraper
    sites with their own banner and footer (near)."""
    out = []
    html_pages = [r for r in recs if r.fmt == "warc"]
    for i, orig in enumerate(rng.sample(html_pages, max(4, len(html_pages) // 30))):
        out.append(Rec(url=orig.url + ("?utm_source=feed" if i % 2 else "?ref=home"), text=orig.text,
                       source=orig.source, lang=orig.lang, kind="exact_dup", dup_of=orig.url,
                       fmt="warc", html=orig.html, content_type=orig.content_type))
    real_pages = [r for r in html_pages if r.html.count(b"</body>") == 1]
    for i, orig in enumerate(rng.sample(real_pages, max(4, len(html_pages) // 30))):
        out.append(Rec(url=mirror_url(orig.url, 20_000 + i), text=orig.text, source=orig.source,
                       lang=orig.lang, kind="near_dup", dup_of=orig.url, fmt="warc",
                       html=near_duplicate_page(rng, orig), content_type=orig.content_type))
    return out


def non_html_records(rng: random.Random) -> list[Rec]:
    """Non-HTML responses a crawl holds: images, a PDF, a redirect."""
    return [
        Rec(url="https://www.example.com/images/logo.png", kind="non_text", fmt="warc",
            html=b"\x89PNG\r\n\x1a\n" + rng.randbytes(3000), content_type="image/png"),
        Rec(url="https://static.example.net/img/banner.png", kind="non_text", fmt="warc",
            html=b"\x89PNG\r\n\x1a\n" + rng.randbytes(5000), content_type="image/png"),
        Rec(url="https://files.example.org/report-2023.pdf", kind="non_text", fmt="warc",
            html=b"%PDF-1.4\n" + rng.randbytes(4000), content_type="application/pdf"),
        Rec(url="http://docs.python.org/3.11/index.html", kind="non_text", fmt="warc",
            html=b"<html><body>Moved Permanently</body></html>", status="301 Moved Permanently",
            extra={"location": "https://docs.python.org/3.11/index.html"}),
    ]
