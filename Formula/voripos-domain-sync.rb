# Homebrew formula: builds voripos-domain-sync from source and runs it as a login service.
# The repository address below is a placeholder: set it to Vori's repository when the tap is published.
class VoriposDomainSync < Formula
  desc "Keeps a VoriPOS Mac's domain database in sync with LiteFS"
  homepage "https://github.com/vori-inc/voripos-domain-sync"
  url "https://github.com/vori-inc/voripos-domain-sync.git", tag: "v0.1.0"
  version "0.1.0"
  license "MIT"
  head "https://github.com/vori-inc/voripos-domain-sync.git", branch: "main"

  depends_on "rust" => :build
  depends_on :macos

  def install
    system "cargo", "install", *std_cargo_args
  end

  service do
    run [opt_bin/"voripos-domain-sync"]
    keep_alive true
    process_type :interactive
    log_path var/"log/voripos-domain-sync.log"
    error_log_path var/"log/voripos-domain-sync.log"
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/voripos-domain-sync --version")
    db = testpath/"Domain.sqlite3"
    system "sqlite3", db, "CREATE TABLE products(id INTEGER PRIMARY KEY); INSERT INTO products VALUES (1);"
    assert_match(/^checksum [0-9a-f]{16}$/, shell_output("#{bin}/voripos-domain-sync verify #{db}"))
  end
end
