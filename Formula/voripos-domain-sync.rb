# Homebrew formula for voripos-domain-sync, published in the tap voriteam/homebrew-voripos.
#
# As checked in, `stable` builds the tagged commit from source (needs Rust). On a tag
# v<version>, bundle/release-formula.sh drops the `stable do … end` block and puts the
# release tarball's url and sha256 after `homepage`; the release workflow commits that to
# the tap. A store Mac then installs "VoriPOS Domain Sync.app" with a universal (arm64 +
# x86_64) binary, signed with the hardened runtime and notarized: no Rust, nothing
# compiled on the Mac.
# `brew install --HEAD voripos-domain-sync` builds the main branch from source.
class VoriposDomainSync < Formula
  desc "Keeps a VoriPOS Mac's domain database in sync with LiteFS"
  homepage "https://github.com/voriteam/voripos-domain-sync"
  license "MIT"

  stable do
    url "https://github.com/voriteam/voripos-domain-sync.git", tag: "v0.5.0"
    depends_on "rust" => :build
  end

  head do
    url "https://github.com/voriteam/voripos-domain-sync.git", branch: "main"
    depends_on "rust" => :build
  end

  depends_on macos: :monterey

  APP = "VoriPOS Domain Sync.app".freeze

  def install
    if (buildpath/"Cargo.toml").exist?
      # A source build: the same .app and entry point as the release tarball, unsigned.
      system "cargo", "install", *std_cargo_args
      system "bash", "bundle/build-app.sh", bin/"voripos-domain-sync", buildpath/"out"
      rm bin/"voripos-domain-sync"
      prefix.install buildpath/"out"/APP
      bin.install "bundle/voripos-domain-sync.sh"
    else
      # The release tarball (bundle/release-tarball.sh): Homebrew is already inside its one
      # top-level folder. Installing the app unchanged keeps its signature.
      prefix.install APP
      bin.install "voripos-domain-sync.sh"
    end
    # voripos-domain-sync.sh sits at 0.4.2's service path (opt/…/bin/voripos-domain-sync.sh):
    # the LaunchAgent 0.4.2 loaded runs the new app after a plain `brew upgrade`.
    bin.install_symlink prefix/APP/"Contents/MacOS/voripos-domain-sync"
  end

  def caveats
    <<~EOS
      Start it now and at every login:
        brew services start voripos-domain-sync
      Upgrading from 0.4.x as a service: nothing to type, the old service starts the new
      app. `brew services restart voripos-domain-sync` once switches it to this version's
      service definition.
      Quit in the menu stops it until the next login or `brew services restart`;
      launchd restarts it after a crash or an error exit.
      On macOS 14+ the app needs access to VoriPOS's data: deploy the PPPC profile
      attached to the GitHub release (VoriPOS-Domain-Sync-PPPC.mobileconfig) with your MDM.
    EOS
  end

  service do
    # opt_prefix, not prefix: the opt link follows upgrades, a keg path is deleted by cleanup.
    run [opt_prefix/"VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync"]
    # Restarted after any unsuccessful exit (a panic exits 101, an error 1); Quit exits 0.
    keep_alive successful_exit: false
    process_type :interactive
    # The app logs to its own daily-rotated files in ~/Library/Logs/VoriPOS Domain Sync;
    # this file only catches what happens before logging starts (a crash at launch).
    error_log_path var/"log/voripos-domain-sync.log"
  end

  test do
    expected = version.head? ? "voripos-domain-sync" : version.to_s
    assert_match expected, shell_output("#{bin}/voripos-domain-sync --version")
    assert_match expected, shell_output("#{bin}/voripos-domain-sync.sh --version")
    db = testpath/"Domain.sqlite3"
    system "sqlite3", db, "CREATE TABLE products(id INTEGER PRIMARY KEY); INSERT INTO products VALUES (1);"
    assert_match(/^checksum [0-9a-f]{16}$/, shell_output("#{bin}/voripos-domain-sync verify #{db}"))
  end
end
