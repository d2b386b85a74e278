# Homebrew formula for voripos-domain-sync, published in the tap voriteam/homebrew-voripos.
#
# A store Mac installs the release artifact: "VoriPOS Domain Sync.app" with a universal
# (arm64 + x86_64) binary, signed with the hardened runtime and notarized, built by
# .github/workflows/macos.yml on a tag. No Rust toolchain, nothing compiled on the Mac.
# The release job fills in the tarball's sha256 below and commits this file to the tap.
# `brew install --HEAD voripos-domain-sync` still builds from source (needs Rust).
class VoriposDomainSync < Formula
  desc "Keeps a VoriPOS Mac's domain database in sync with LiteFS"
  homepage "https://github.com/voriteam/voripos-domain-sync"
  url "https://github.com/voriteam/voripos-domain-sync/releases/download/v0.5.0/voripos-domain-sync-0.5.0-universal-apple-darwin.tar.gz"
  sha256 "@@SHA256_FILLED_BY_THE_RELEASE_JOB@@"
  license "MIT"

  head do
    url "https://github.com/voriteam/voripos-domain-sync.git", branch: "main"
    depends_on "rust" => :build
  end

  depends_on macos: :monterey

  APP = "VoriPOS Domain Sync.app".freeze

  def install
    if build.head?
      system "cargo", "build", "--release", "--locked", "--bin", "voripos-domain-sync"
      system "bash", "bundle/build-app.sh", "target/release/voripos-domain-sync", buildpath/"out"
      prefix.install buildpath/"out"/APP
    else
      # The tarball holds the signed app; installing it unchanged keeps its signature.
      prefix.install APP
    end
    bin.install_symlink prefix/APP/"Contents/MacOS/voripos-domain-sync"
  end

  def caveats
    <<~EOS
      Start it now and at every login:
        brew services start voripos-domain-sync
      Quit in the menu stops it until the next login or `brew services restart`;
      launchd restarts it only after a crash.
      On macOS 14+ the app needs access to VoriPOS's data: deploy the PPPC profile
      attached to the GitHub release (VoriPOS-Domain-Sync-PPPC.mobileconfig) with your MDM.
    EOS
  end

  service do
    run [opt_prefix/"VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync"]
    keep_alive crashed: true
    process_type :interactive
    # The app logs to its own daily-rotated files in ~/Library/Logs/VoriPOS Domain Sync;
    # this file only catches what happens before logging starts (a crash at launch).
    error_log_path var/"log/voripos-domain-sync.log"
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/voripos-domain-sync --version")
    db = testpath/"Domain.sqlite3"
    system "sqlite3", db, "CREATE TABLE products(id INTEGER PRIMARY KEY); INSERT INTO products VALUES (1);"
    assert_match(/^checksum [0-9a-f]{16}$/, shell_output("#{bin}/voripos-domain-sync verify #{db}"))
  end
end
